using Orchestrator.Sharding.Model;
using Orchestrator.Worker.Model;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training.Distributed;

/// <summary>
/// The GPT as Sharding sees it: embed, one stage per block, head. Parameter names are the model's own
/// (wte.weight, h.0.attn.c_attn.weight, ...), the names the single-process optimizer and checkpoints use, so a
/// checkpoint moves between --nproc 1 and --nproc P. The head reuses wte.weight (tied), which belongs to the
/// embed stage: fine for DDP and ZeRO-1/2, refused by ZeRO-3 (it gathers one stage at a time).
/// </summary>
public static class GptStages
{
    public static StagedModel Of(Gpt gpt)
    {
        var all = gpt.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        List<(string, TorchSharp.Modules.Parameter)> Where(Func<string, bool> f) => all.Where(p => f(p.name)).Select(p => (p.name, p.parameter)).ToList();
        var stages = new List<ModelStage>
        {
            new("embed", gpt.Embed, Where(n => n.StartsWith("wte.", StringComparison.Ordinal) || n.StartsWith("wpe.", StringComparison.Ordinal))),
        };
        var blocks = gpt.Blocks;
        for (var i = 0; i < blocks.Count; i++)
        {
            var prefix = $"h.{i}.";
            stages.Add(new ModelStage($"h.{i}", blocks[i].call, Where(n => n.StartsWith(prefix, StringComparison.Ordinal))));
        }
        stages.Add(new ModelStage("head", gpt.Head, Where(n => n.StartsWith("ln_f.", StringComparison.Ordinal) || n == "wte.weight")));
        var model = new StagedModel(stages, Gpt.Loss, gpt.Config.Mup ? gpt.LrScale : null);
        if (model.Parameters.Count != all.Count)
            throw new InvalidOperationException($"GPT staging covers {model.Parameters.Count} of {all.Count} parameters; a parameter name is not in embed/h.N/ln_f");
        return model;
    }
}
