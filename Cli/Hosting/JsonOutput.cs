using System.Text.Json;
using Orchestrator.Dashboard.Documents;

namespace Orchestrator.Cli.Hosting;

/// <summary>`--json` output: one document on stdout, nothing else on stdout; the web API's options (<see cref="ApiJson"/>).</summary>
public static class JsonOutput
{
    public static JsonSerializerOptions Options => ApiJson.Options;

    public static void Write<T>(T value) => Console.Out.WriteLine(ApiJson.Serialize(value));
}
