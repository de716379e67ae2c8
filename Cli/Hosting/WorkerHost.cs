using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Workers;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Worker.Hosting;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Orchestrator.Cli.Hosting;

/// <summary>How a worker process outlives its coordinator: how long it tries to join, and how long it trains without one.</summary>
/// <param name="JoinFor">Each time it (re)joins, how long it keeps trying before it gives up (a printed, bounded retry).</param>
/// <param name="Lease">How long the coordinator may be unreachable before the worker pauses its runs and leaves.</param>
/// <param name="CoordinatorUp">Whether the coordinator answers now (embedded mode: its silo port; cluster mode: membership).</param>
/// <param name="Where">The coordinator as the messages name it.</param>
public sealed record WorkerSupervision(TimeSpan JoinFor, TimeSpan Lease, Func<IHost?, CancellationToken, Task<bool>> CoordinatorUp, string Where)
{
    /// <summary>The cluster token, read at each join (once the coordinator answers, so its token file exists).</summary>
    public Func<ClusterToken>? Token { get; init; }
}

/// <summary>
/// Builds and supervises the worker process, as <see cref="CoordinatorHost"/> builds the coordinator's: a silo (the
/// worker grain lives in its own process) with the worker runtime as a hosted service that registers it, runs its
/// training slots and reports. It lives here, not in Worker, because it joins the two: the silo setup is
/// Coordinator's and the runtime Worker's, and neither references the other.
/// Invariant: one silo at a time. When the coordinator is unreachable past the lease, or the silo's membership ends
/// (<see cref="MembershipLoss"/>: a restarted coordinator's table, a death declaration), the runs pause with a
/// checkpoint, the silo stops, and a new silo joins once the coordinator answers again; a run then resumes from
/// the newest valid checkpoint, as after any loss.
/// </summary>
public static class WorkerHost
{
    /// <param name="info">The worker as it registers; its silo address is filled in once the silo has one.</param>
    /// <param name="logFormat">text or json (<see cref="CoordinatorHost.ConfigureLogging"/>).</param>
    public static IHost Build(SiloSettings settings, WorkerInfo info, TimeSpan reportEvery, int slots, string logFormat = "text", TimeSpan? registerFor = null)
    {
        var builder = Host.CreateApplicationBuilder([]);
        CoordinatorHost.ConfigureLogging(builder.Logging, logFormat);
        // Lines logged in a run's scope also travel to the run grain with the rank's reports (`orch run logs`).
        var runLogs = new RunLogCapture();
        builder.Logging.AddProvider(runLogs);
        builder.Services.AddSingleton(runLogs);
        builder.UseOrleans(silo =>
        {
            silo.Configure(settings);
            silo.Configure<ClusterMembershipOptions>(o => o.MaxJoinAttemptTime = TimeSpan.FromSeconds(20));
            silo.Services.AddSingleton<MembershipLoss>();
            silo.Services.AddSingleton<IFatalErrorHandler>(sp => sp.GetRequiredService<MembershipLoss>());
        });
        builder.Services.AddSingleton(sp => new WorkerRuntimeOptions
        {
            Info = info with { SiloAddress = sp.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString() },
            ReportEvery = reportEvery,
            Slots = slots,
            RegisterFor = registerFor ?? TimeSpan.FromSeconds(60),
        });
        builder.Services.AddSingleton<ITrainingJobFactory>(_ => new TrainingJobFactory());
        builder.Services.AddSingleton<WorkerRuntime>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkerRuntime>());
        return builder.Build();
    }

    /// <summary>
    /// Joins (retrying until <see cref="WorkerSupervision.JoinFor"/>), trains, and rejoins after the coordinator was
    /// lost, until Ctrl-C / SIGTERM. Returns the exit code; throws <see cref="CoordinatorUnreachableException"/>
    /// when no coordinator answered in time.
    /// </summary>
    public static async Task<int> RunAsync(SiloSettings settings, WorkerInfo info, TimeSpan reportEvery, int slots, string logFormat,
        WorkerSupervision sup, Action printUp, CancellationToken ct)
    {
        while (true)
        {
            var deadline = DateTime.UtcNow + sup.JoinFor;
            IHost host;
            while (true)
            {
                await WaitForCoordinatorAsync(sup, deadline, ct);
                var joining = sup.Token is null ? settings : settings with { Token = sup.Token() };
                host = Build(joining, info, reportEvery, slots, logFormat, Max(deadline - DateTime.UtcNow, TimeSpan.FromSeconds(5)));
                var loss = host.Services.GetRequiredService<MembershipLoss>();
                // A coordinator that dies while this silo joins or registers ends the membership mid-start: give up on
                // this silo at once rather than retry registering through it until the deadline.
                using var starting = CancellationTokenSource.CreateLinkedTokenSource(ct);
                using (new Timer(_ => CancelIfLost(loss, starting), null, 250, 250))
                {
                    try
                    {
                        await host.StartAsync(starting.Token);
                        break;
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                    {
                        await StopQuietlyAsync(host);
                        var failure = loss.Reason ?? e.GetBaseException().Message.TrimEnd('.');
                        if (DateTime.UtcNow >= deadline)
                            throw new CoordinatorUnreachableException($"worker {info.Id} could not join {sup.Where} within {sup.JoinFor.TotalSeconds:F0} s ({failure})", e);
                        Console.Error.WriteLine($"worker {info.Id}: joining {sup.Where} failed ({failure}); retrying for {(deadline - DateTime.UtcNow).TotalSeconds:F0} s more");
                    }
                }
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
            if (Environment.ExitCode == CliAction.BadInput) // registration refused
            {
                await StopQuietlyAsync(host);
                return CliAction.BadInput;
            }
            printUp();
            var why = await WatchAsync(host, sup, ct);
            if (why is null)
            {
                await host.StopAsync(TimeSpan.FromSeconds(10));
                host.Dispose();
                return Environment.ExitCode == CliAction.BadInput ? CliAction.BadInput : CliAction.Ok;
            }
            Console.Error.WriteLine($"worker {info.Id}: {why}; pausing its runs (each stops at its next step with a checkpoint)");
            var runtime = host.Services.GetRequiredService<WorkerRuntime>();
            bool paused = await runtime.PauseAsync(TimeSpan.FromSeconds(120), ct);
            if (!paused) Console.Error.WriteLine($"worker {info.Id}: a run did not pause within 120 s; stopping it (it resumes from its newest checkpoint)");
            await StopQuietlyAsync(host);
            Console.Error.WriteLine($"worker {info.Id}: left the cluster; rejoining once {sup.Where} answers (for up to {sup.JoinFor.TotalSeconds:F0} s)");
        }
    }

    /// <summary>Null when the process is asked to stop; otherwise why the coordinator counts as lost.</summary>
    static async Task<string?> WatchAsync(IHost host, WorkerSupervision sup, CancellationToken ct)
    {
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var loss = host.Services.GetRequiredService<MembershipLoss>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        DateTime? downSince = null;
        while (!stop.IsCancellationRequested)
        {
            if (loss.Reason is { } reason) return $"its cluster membership ended ({reason})";
            bool up;
            try { up = await sup.CoordinatorUp(host, stop.Token); }
            catch (OperationCanceledException) { break; }
            if (up) downSince = null;
            else if ((downSince ??= DateTime.UtcNow) + sup.Lease <= DateTime.UtcNow)
                return $"{sup.Where} has not answered for {sup.Lease.TotalSeconds:F0} s";
            try { await Task.Delay(TimeSpan.FromSeconds(1), stop.Token); }
            catch (OperationCanceledException) { break; }
        }
        return null;
    }

    /// <summary>Waits (printing every few seconds) until the coordinator answers; throws at the deadline.</summary>
    static async Task WaitForCoordinatorAsync(WorkerSupervision sup, DateTime deadline, CancellationToken ct)
    {
        var lastSaid = DateTime.MinValue;
        while (!await sup.CoordinatorUp(null, ct))
        {
            if (DateTime.UtcNow >= deadline)
                throw new CoordinatorUnreachableException($"cannot reach {sup.Where} after {sup.JoinFor.TotalSeconds:F0} s (start it with `orch coordinator` or `orch local`, or pass --coordinator-silo HOST:PORT; --join-timeout-s waits longer)");
            if (DateTime.UtcNow - lastSaid >= TimeSpan.FromSeconds(5))
            {
                Console.Error.WriteLine($"{sup.Where} is not up yet; retrying for {(deadline - DateTime.UtcNow).TotalSeconds:F0} s more");
                lastSaid = DateTime.UtcNow;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
        }
    }

    /// <summary>Stops a silo that may have lost its cluster: a bounded, ungraceful stop, then disposal off this path.</summary>
    static async Task StopQuietlyAsync(IHost host)
    {
        using var cut = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try { await host.StopAsync(cut.Token).WaitAsync(TimeSpan.FromSeconds(15)); }
        catch (Exception) { /* the silo is being abandoned: nothing it says now matters */ }
        try { await Task.Run(host.Dispose).WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (Exception) { /* a dispose stuck on the dead cluster is left behind */ }
    }

    static void CancelIfLost(MembershipLoss loss, CancellationTokenSource starting)
    {
        try { if (loss.Reason is not null) starting.Cancel(); }
        catch (ObjectDisposedException) { /* the start already ended */ }
    }

    static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
