using System.CommandLine;
using Orchestrator.Cli.Hosting;

namespace Orchestrator.Cli.Commands;

/// <summary>A command whose issue has not landed yet: it says so and exits 1.</summary>
static class Stub
{
    public static Command Command(string name, string description)
    {
        var cmd = new Command(name, description + " (not available yet)");
        CliAction.Set(cmd, _ =>
        {
            Console.Error.WriteLine($"error: 'orch {name}' is not available in this build yet");
            return CliAction.Failure;
        });
        return cmd;
    }
}
