using System.CommandLine;
using Orchestrator.Cli.Commands;
using Orchestrator.Cli.Hosting;

var root = new RootCommand("orch: distributed training orchestrator for GPT-style language models");
foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h"))
{
    foreach (var error in parsed.Errors) Console.Error.WriteLine("error: " + error.Message);
    Console.Error.WriteLine("Run 'orch --help' (or 'orch COMMAND --help') for usage.");
    return CliAction.BadInput;
}
// Commands that stop gracefully (orch train: finish the step, checkpoint) take SIGINT/SIGTERM themselves.
var invocation = new InvocationConfiguration();
if (GracefulStop.Handles(parsed.CommandResult.Command)) invocation.ProcessTerminationTimeout = null;
return await parsed.InvokeAsync(invocation);
