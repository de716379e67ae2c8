using System.Globalization;

namespace Orchestrator.Worker.Checkpoints;

/// <summary>
/// A fault-injection point for crash tests (as etcd's and TiKV's failpoints): with
/// <c>ORCH_FAILPOINT_CHECKPOINT=&lt;step&gt;</c> in the environment, the writer of that step's checkpoint stops halfway
/// (its shard written, its announcement, state.json and manifest not), says so on stderr and waits to be killed. Unset, it costs one lookup.
/// </summary>
public static class CheckpointFailpoint
{
    public const string Variable = "ORCH_FAILPOINT_CHECKPOINT";
    public const string Message = "failpoint: checkpoint write paused at step ";

    static readonly long? Step = long.TryParse(Environment.GetEnvironmentVariable(Variable), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;

    public static void Reached(long step)
    {
        if (Step != step) return;
        Console.Error.WriteLine(Message + step.ToString(CultureInfo.InvariantCulture));
        Console.Error.Flush();
        Thread.Sleep(Timeout.Infinite);
    }
}
