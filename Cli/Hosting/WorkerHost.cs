using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.Contracts.Workers;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Worker.Hosting;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Orchestrator.Cli.Hosting;

/// <summary>
/// Builds the worker process, as <see cref="CoordinatorHost"/> builds the coordinator's: a silo (the worker grain
/// lives in its own process) with the worker runtime as a hosted service that registers it, runs its training slots
/// and reports. It lives here, not in Worker, because it joins the two: the silo setup is Coordinator's and the
/// runtime Worker's, and neither references the other.
/// </summary>
public static class WorkerHost
{
    /// <param name="info">The worker as it registers; its silo address is filled in once the silo has one.</param>
    /// <param name="logFormat">text or json (<see cref="CoordinatorHost.ConfigureLogging"/>).</param>
    public static IHost Build(SiloSettings settings, WorkerInfo info, TimeSpan reportEvery, int slots, string logFormat = "text")
    {
        var builder = Host.CreateApplicationBuilder([]);
        CoordinatorHost.ConfigureLogging(builder.Logging, logFormat);
        builder.UseOrleans(silo =>
        {
            silo.Configure(settings);
            silo.Configure<ClusterMembershipOptions>(o => o.MaxJoinAttemptTime = TimeSpan.FromSeconds(20));
        });
        builder.Services.AddSingleton(sp => new WorkerRuntimeOptions
        {
            Info = info with { SiloAddress = sp.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString() },
            ReportEvery = reportEvery,
            Slots = slots,
        });
        builder.Services.AddSingleton<ITrainingJobFactory>(_ => new TrainingJobFactory());
        builder.Services.AddSingleton<WorkerRuntime>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkerRuntime>());
        return builder.Build();
    }
}
