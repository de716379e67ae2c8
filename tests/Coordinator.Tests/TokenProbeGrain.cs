namespace Orchestrator.Tests.Coordinator;

/// <summary>A grain for the token tests: calls another grain, and ticks a grain timer that calls one.</summary>
[Alias("orch.tests.ITokenProbeGrain")]
public interface ITokenProbeGrain : IGrainWithStringKey
{
    [Alias("Ping")] Task<string> PingAsync();
    [Alias("Relay")] Task<string> RelayAsync(string other);
    [Alias("StartTicking")] Task StartTickingAsync(string other);
    [Alias("Ticks")] Task<int> TicksAsync();
}

public sealed class TokenProbeGrain : Grain, ITokenProbeGrain
{
    int ticks;
    IGrainTimer? timer;

    public Task<string> PingAsync() => Task.FromResult(this.GetPrimaryKeyString());

    public Task<string> RelayAsync(string other) => GrainFactory.GetGrain<ITokenProbeGrain>(other).PingAsync();

    /// <summary>Each tick calls <paramref name="other"/> (a call that starts in a timer, not in any caller's chain).</summary>
    public Task StartTickingAsync(string other)
    {
        timer ??= this.RegisterGrainTimer(async _ =>
        {
            await GrainFactory.GetGrain<ITokenProbeGrain>(other).PingAsync();
            ticks++;
        }, new GrainTimerCreationOptions { DueTime = TimeSpan.FromMilliseconds(50), Period = TimeSpan.FromMilliseconds(100) });
        return Task.CompletedTask;
    }

    public Task<int> TicksAsync() => Task.FromResult(ticks);
}
