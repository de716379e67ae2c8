using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// Exports a checkpoint, dumps our logits for a fixed prompt with `orch sample`, and has bench/check_export.py (its own
/// GPT-2 forward: PyTorch where installed, plain Python here) compare its logits over the export with ours.
/// </summary>
static class ExportCheck
{
    public static void LogitsMatch(string checkpoint, string layout, ITestOutputHelper output)
    {
        var dir = TestData.TempDir("check");
        string model = Path.Combine(dir, "m.safetensors"), logits = Path.Combine(dir, "l.safetensors");
        var export = OrchProcess.Run("export", "--checkpoint", checkpoint, "--out", model, "--layout", layout);
        Assert.True(export.Exit == 0, export.Stderr);
        var s = OrchProcess.Run("sample", "--checkpoint", checkpoint, "--tokens", "84,104,101,32,106,117,114,121", "--max-tokens", "0", "--dump-logits", logits);
        Assert.True(s.Exit == 0, s.Stderr);
        var psi = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(BrownCorpus.RepoRoot(), "bench", "check_export.py"), model, logits, "--tol", "1e-5" }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        output.WriteLine(stdout + stderr);
        Assert.True(p.ExitCode == 0, stdout + stderr);
        Assert.Contains("max |logits diff|", stdout);
    }
}
