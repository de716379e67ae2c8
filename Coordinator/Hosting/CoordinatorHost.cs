using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Metrics;
using Orchestrator.Coordinator.Telemetry;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>Builds the coordinator process: the control-plane silo plus a Prometheus scrape endpoint.</summary>
public static class CoordinatorHost
{
    /// <param name="metricsPort">Port of the Prometheus endpoint (http://+:PORT/metrics); 0 turns it off.</param>
    public static IHost Build(SiloSettings settings, int metricsPort)
    {
        var builder = Host.CreateApplicationBuilder([]);
        ConfigureLogging(builder.Logging);
        builder.UseOrleans(silo => silo.Configure(settings));
        if (metricsPort > 0)
        {
            builder.AddOpenTelemetry().WithMetrics(m => m
                .AddMeter(CoordinatorMetrics.MeterName, "Microsoft.Orleans")
                .AddPrometheusHttpListener(o => { o.Host = "localhost"; o.Port = metricsPort; }));
        }
        return builder.Build();
    }

    /// <summary>One line per event with time and scope (run id, rank, epoch); Orleans' own chatter only from warnings up.</summary>
    public static void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.IncludeScopes = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
            o.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        logging.AddFilter("Orleans", LogLevel.Warning);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Polly", LogLevel.Warning);
        // A console disconnecting is not worth a stack trace.
        logging.AddFilter("Orleans.Runtime.Messaging", LogLevel.Error);
        logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
        logging.AddFilter("Orchestrator", LogLevel.Information);
    }
}
