using Xunit.Abstractions;

namespace Orchestrator.Tests.EndToEnd.FaultSuite;

/// <summary>
/// One line per fault injected: seed, fault, run, step, recovery seconds, tokens lost; to the test's output, and
/// appended to the file ORCH_FAULT_REPORT names (bench/fault_suite.sh collects the lines there into a table).
/// Recovery: from the fault to the next training step reported (or to the detection, for damage). Tokens lost:
/// the steps trained before the fault that had to be trained again (those after the checkpoint resumed from) x
/// tokens per step; "-" where a fault has no such figure.
/// </summary>
static class FaultReport
{
    public const string Header = "seed\tfault\trun\tstep\trecovery_s\ttokens_lost";
    static readonly object Gate = new();

    public static void Add(ITestOutputHelper output, int seed, string fault, string run, string step, double? recoverySeconds, long? tokensLost)
    {
        string line = string.Join('\t', seed, fault, run, step,
            recoverySeconds is { } s ? s.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "-", tokensLost?.ToString() ?? "-");
        output.WriteLine("fault\t" + line);
        Console.WriteLine("fault\t" + line);
        if (Environment.GetEnvironmentVariable("ORCH_FAULT_REPORT") is not { Length: > 0 } path) return;
        lock (Gate)
        {
            if (!File.Exists(path) || new FileInfo(path).Length == 0) File.AppendAllText(path, Header + "\n");
            File.AppendAllText(path, line + "\n");
        }
    }
}
