using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Model;

/// <summary>
/// One unit of the model that ZeRO-3 gathers as a whole (the embedding, one block, or the head): its forward
/// function and the parameters it uses, with the names checkpoints know them by.
/// </summary>
public sealed record ModelStage(string Name, Func<Tensor, Tensor> Forward, IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> Parameters)
{
    /// <summary>A module as a stage; its parameters are named "stage.param".</summary>
    public ModelStage(string name, nn.Module<Tensor, Tensor> module)
        : this(name, module.call, module.named_parameters().Select(p => ($"{name}.{p.name}", p.parameter)).ToList()) { }
}

/// <summary>
/// A model seen as a chain of stages (embedding, blocks..., head) plus its loss, which is all the sharding code
/// needs to know about a model: Sharding never references Worker. Stage i's output is stage i+1's input; the
/// first stage takes token ids, the last returns what <see cref="Loss"/> takes with the targets. Parameters are
/// named by the stages and laid out flat in stage order (the checkpoint's global layout).
/// </summary>
public sealed class StagedModel
{
    public IReadOnlyList<ModelStage> Stages { get; }

    /// <summary>(last stage's output, targets) -> scalar mean loss.</summary>
    public Func<Tensor, Tensor, Tensor> Loss { get; }

    /// <summary>Every parameter once, in stage order, with the stage that owns it (a parameter shared by two stages belongs to the first).</summary>
    public IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter, int Stage)> Parameters { get; }

    /// <summary>For each stage, the stages whose parameters it uses: itself, plus the owner of any parameter it shares.</summary>
    public IReadOnlyList<int[]> StageNeeds { get; }

    /// <summary>True when some parameter is used by two stages (a tied embedding/head).</summary>
    public bool HasSharedParameters { get; }

    /// <summary>
    /// The learning-rate multiplier of a parameter, by its name (μP's per-group learning rates); null: 1 for all.
    /// The optimizer turns it into runs of its flat region, so it holds under DDP and every ZeRO stage.
    /// </summary>
    public Func<string, double>? LrScale { get; }

    public StagedModel(IReadOnlyList<ModelStage> stages, Func<Tensor, Tensor, Tensor> loss, Func<string, double>? lrScale = null)
    {
        LrScale = lrScale;
        if (stages.Count == 0) throw new ArgumentException("a staged model needs at least one stage");
        Stages = stages;
        Loss = loss;
        // Identity by storage, not by wrapper: TorchSharp hands out a new handle for each access to a module's
        // weight, so a tied weight reached from two modules has two handles but one data pointer.
        var owner = new Dictionary<(nint, long), int>();
        var list = new List<(string, TorchSharp.Modules.Parameter, int)>();
        var needs = new List<int[]>();
        for (var s = 0; s < stages.Count; s++)
        {
            var mine = new List<int> { s };
            foreach (var (name, p) in stages[s].Parameters)
            {
                var key = (Communication.TensorBuffer.Of(p, name, reduce: false).Pointer, p.numel());
                if (owner.TryGetValue(key, out var first)) { HasSharedParameters = true; mine.Add(first); continue; }
                owner[key] = s;
                list.Add((name, p, s));
            }
            needs.Add(mine.Distinct().ToArray());
        }
        StageNeeds = needs;
        if (list.Select(p => p.Item1).Distinct().Count() != list.Count)
            throw new ArgumentException("stage names must be unique: two parameters got the same name");
        Parameters = list;
    }

    /// <summary>The plain forward pass (all parameters present), for single-process use and tests.</summary>
    public Tensor Forward(Tensor tokens)
    {
        var h = tokens;
        foreach (var s in Stages) h = s.Forward(h);
        return h;
    }
}
