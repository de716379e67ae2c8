using System.CommandLine;
using System.CommandLine.Help;
using System.Reflection;
using System.Text.Json;
using Orchestrator.Cli.Commands;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Tests.Foundation;

/// <summary>
/// docs/CLI.md is the contract: every flag a command's `--help` shows must be listed in that command's section
/// (`### orch ...`), and every RunSpec and sweep YAML key in its table. Read from the same command tree `--help`
/// prints, so a flag added without its line in the contract fails here.
/// </summary>
public sealed class CliContractTests
{
    static readonly string Doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "CLI.md"));

    [Fact]
    public void Every_commands_help_flags_are_in_its_section_of_docs_CLI_md()
    {
        var missing = new List<string>();
        int checkedCommands = 0;
        foreach (var (path, command) in Leaves(CommandCatalog.All(), "orch"))
        {
            var flags = command.Options.Where(o => o is not HelpOption and not VersionOption).Select(o => o.Name).ToList();
            var section = Section($"### {path}");
            checkedCommands++;
            if (section is null) { missing.Add($"{path}: no '### {path}' section"); continue; }
            missing.AddRange(flags.Where(f => !section.Contains($"`{f}`", StringComparison.Ordinal)).Select(f => $"{path}: {f}"));
        }
        Assert.True(checkedCommands >= 25, $"only {checkedCommands} commands found");
        Assert.Empty(missing);
    }

    [Fact]
    public void Every_flag_and_argument_says_what_it_is_in_help()
    {
        var bare = new List<string>();
        foreach (var (path, command) in Leaves(CommandCatalog.All(), "orch"))
        {
            bare.AddRange(command.Options.Where(o => o is not HelpOption and not VersionOption && string.IsNullOrWhiteSpace(o.Description)).Select(o => $"{path} {o.Name}"));
            bare.AddRange(command.Arguments.Where(a => string.IsNullOrWhiteSpace(a.Description)).Select(a => $"{path} {a.Name}"));
        }
        Assert.Empty(bare);
    }

    [Fact]
    public void Every_command_that_prints_a_result_takes_json()
    {
        string[] services = ["orch coordinator", "orch worker", "orch local"]; // they print log lines (--log-format json)
        var without = Leaves(CommandCatalog.All(), "orch")
            .Where(x => !services.Contains(x.Path) && !x.Command.Options.Any(o => o.Name == "--json")).Select(x => x.Path).ToList();
        Assert.Empty(without);
    }

    [Fact]
    public void Usage_lines_say_orch_and_a_renamed_flag_names_its_new_spelling()
    {
        var help = OrchProcess.Run("train", "--help");
        Assert.Equal(0, help.Exit);
        Assert.Contains("  orch train [options]", help.Stdout);
        Assert.DoesNotContain("Orchestrator.Cli", help.Stdout);
        Assert.Contains("--block-size", help.Stdout);

        var old = OrchProcess.Run("train", "--data", "/d", "--out", "/o", "--block", "64");
        Assert.Equal((2, "", "error: --block was renamed --block-size"), (old.Exit, old.Stdout, old.Stderr.Trim()));

        // orch worker joins the coordinator's silo, console commands its gateway: two flags, not one meaning two things.
        var worker = OrchProcess.Run("worker", "--coordinator", "127.0.0.1:1");
        Assert.Equal((2, "", "error: --coordinator was renamed --coordinator-silo"), (worker.Exit, worker.Stdout, worker.Stderr.Trim()));
    }

    [Fact]
    public void Every_renamed_flag_and_key_points_at_a_name_in_use()
    {
        var commands = Leaves(CommandCatalog.All(), "orch").Select(x => x.Command.Options.Select(o => o.Name).ToHashSet()).ToList();
        var flags = commands.SelectMany(f => f).ToHashSet();
        foreach (var (old, now) in Orchestrator.Contracts.Specs.Vocabulary.RenamedFlags)
        {
            // A command that has the new spelling never has the old one (an old name left on other commands means
            // something else there: console commands' --coordinator is the gateway, orch worker's is refused).
            Assert.DoesNotContain(commands, f => f.Contains(old) && now.Any(f.Contains));
            Assert.Contains(now, n => flags.Contains(n));
            Assert.Contains($"`{old}`", Section("## Vocabulary")!);
        }
        foreach (var old in Orchestrator.Contracts.Specs.Vocabulary.RenamedKeys.Keys)
            Assert.Contains($"`{old}`", Section("## Vocabulary")!);
    }

    [Fact]
    public void Every_RunSpec_and_sweep_YAML_key_is_in_docs_CLI_md()
    {
        var runSpec = Section("## RunSpec YAML")!;
        var sweep = Section("## Sweep YAML")!;
        var missing = new List<string>();
        foreach (var key in Keys(typeof(RunSpec)))
            if (!runSpec.Contains($"`{key}`", StringComparison.Ordinal)) missing.Add("RunSpec: " + key);
        foreach (var key in Keys(typeof(ModelShape))) // listed inside the `model` row
            if (!runSpec.Contains(key, StringComparison.Ordinal)) missing.Add("RunSpec: model." + key);
        var sweepDoc = typeof(Orchestrator.Experiments.Specs.SweepSpecYaml).Assembly.GetType("Orchestrator.Experiments.Specs.SweepYamlDocument")!;
        foreach (var key in Keys(sweepDoc))
            if (!sweep.Contains($"`{key}`", StringComparison.Ordinal)) missing.Add("sweep: " + key);
        Assert.Empty(missing);
    }

    static IEnumerable<string> Keys(Type t) =>
        t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract")
            .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name));

    /// <summary>Commands that act (not only groups), with their full path.</summary>
    static IEnumerable<(string Path, Command Command)> Leaves(IEnumerable<Command> commands, string prefix)
    {
        foreach (var c in commands)
        {
            var path = $"{prefix} {c.Name}";
            if (c.Action is not null) yield return (path, c);
            foreach (var sub in Leaves(c.Subcommands, path)) yield return sub;
        }
    }

    /// <summary>The text from a heading line to the next heading of the same or a higher level.</summary>
    static string? Section(string heading)
    {
        var lines = Doc.Split('\n');
        int level = heading.TakeWhile(ch => ch == '#').Count();
        int start = Array.FindIndex(lines, l => l.TrimEnd() == heading);
        if (start < 0) return null;
        int end = start + 1;
        while (end < lines.Length && !(lines[end].StartsWith('#') && lines[end].TakeWhile(ch => ch == '#').Count() <= level)) end++;
        return string.Join('\n', lines[start..end]);
    }

    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Orchestrator.sln above {AppContext.BaseDirectory}");
    }
}
