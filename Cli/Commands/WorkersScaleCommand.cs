using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands.
public static class WorkersScaleCommand
{
    public static Command Create() => Stub.Command("scale", "Scale the worker StatefulSet");
}
