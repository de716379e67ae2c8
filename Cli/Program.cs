using System.CommandLine;
using Orchestrator.Cli.Commands;
using Orchestrator.Cli.Hosting;

// Without a terminal (piped, redirected, CI) Spectre would wrap prose and tables at 80 columns; lines stay whole.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 4096;
var root = new RootCommand("orch: distributed training orchestrator for GPT-style language models") { HelpName = "orch" }; // usage lines say `orch`, not the assembly's name
foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h"))
{
    // A renamed flag is refused with its new spelling (docs/CLI.md "Vocabulary"), not as an unknown token.
    var flags = parsed.CommandResult.Command.Options.SelectMany(o => o.Aliases.Prepend(o.Name)).ToList();
    if (parsed.UnmatchedTokens.Select(t => Orchestrator.Contracts.Specs.Vocabulary.RenamedFlag(t, flags)).FirstOrDefault(m => m is not null) is { } renamed)
    {
        Console.Error.WriteLine("error: " + renamed);
        return CliAction.BadInput;
    }
    foreach (var error in parsed.Errors) Console.Error.WriteLine("error: " + error.Message);
    Console.Error.WriteLine("Run 'orch --help' (or 'orch COMMAND --help') for usage.");
    return CliAction.BadInput;
}
// Commands that stop gracefully (orch train: finish the step, checkpoint) take SIGINT/SIGTERM themselves.
var invocation = new InvocationConfiguration();
if (GracefulStop.Handles(parsed.CommandResult.Command)) invocation.ProcessTerminationTimeout = null;
return await parsed.InvokeAsync(invocation);
