using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Metrics;
using Orchestrator.Coordinator.Telemetry;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>Builds the coordinator process: the control-plane silo plus a Prometheus scrape endpoint.</summary>
public static class CoordinatorHost
{
    /// <summary>The meter the sweep grains (Experiments, which this project does not reference) publish progress on.</summary>
    public const string SweepMeterName = "Orchestrator.Experiments";

    /// <param name="metricsPort">Port of the Prometheus endpoint (http://HOST:PORT/metrics); 0 turns it off.</param>
    /// <param name="metricsBind">The address it listens on: loopback by default; 0.0.0.0 (or *) for every interface, as a
    /// Kubernetes pod needs to be scraped.</param>
    /// <param name="logFormat">text (one line per event) or json (one JSON object per event).</param>
    public static IHost Build(SiloSettings settings, int metricsPort, string metricsBind = "127.0.0.1", string logFormat = "text")
    {
        var builder = Host.CreateApplicationBuilder([]);
        ConfigureLogging(builder.Logging, logFormat);
        builder.UseOrleans(silo => silo.Configure(settings));
        if (metricsPort > 0)
        {
            builder.AddOpenTelemetry().WithMetrics(m => m
                .AddMeter(CoordinatorMetrics.MeterName, SweepMeterName, "Microsoft.Orleans")
                .AddPrometheusHttpListener(o => { o.Host = ListenerHost(metricsBind); o.Port = metricsPort; }));
        }
        return builder.Build();
    }

    /// <summary>The HTTP listener's host for a bind address: every interface is its wildcard, loopback its name.</summary>
    public static string ListenerHost(string bind) => bind switch
    {
        "0.0.0.0" or "*" or "+" or "::" => "*",
        "127.0.0.1" or "localhost" or "::1" => "localhost",
        _ => bind,
    };

    /// <summary>
    /// One line per event with time and scope (run id, rank, generation), or with <paramref name="format"/> json one JSON
    /// object per event (timestamp, level, category, message, state, scopes) for log collectors; Orleans' own chatter
    /// only from warnings up.
    /// </summary>
    public static void ConfigureLogging(ILoggingBuilder logging, string format = "text")
    {
        logging.ClearProviders();
        if (format == "json")
            logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
                o.UseUtcTimestamp = true;
            });
        else if (format == "text")
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.IncludeScopes = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        else throw new ArgumentException($"--log-format {format}: must be text or json");
        logging.AddFilter("Orleans", LogLevel.Warning);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Polly", LogLevel.Warning);
        // A console disconnecting is not worth a stack trace.
        logging.AddFilter("Orleans.Runtime.Messaging", LogLevel.Error);
        logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
        logging.AddFilter("Orchestrator", LogLevel.Information);
    }
}
