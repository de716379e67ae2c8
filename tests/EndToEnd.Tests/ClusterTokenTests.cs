using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// Real processes: `orch coordinator` generates its cluster token into a 0600 file and prints the file's path, never
/// the token; consoles and a worker with a wrong token are refused with one line naming the fix (exit 2), the worker
/// never registers, and the coordinator logs the refusals; consoles of the same user find the token without flags.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClusterTokenTests
{
    const string Fix = "error: cluster token missing or wrong: give --token-file FILE or ORCH_CLUSTER_TOKEN (the coordinator printed where its token is)";

    [Fact]
    public async Task Wrong_tokens_are_refused_and_the_generated_one_is_found()
    {
        int silo = LocalPorts.FreePort(), gateway = LocalPorts.FreePort();
        string gw = $"127.0.0.1:{gateway}";
        await using var coordinator = OrchProcess.Start(["coordinator", "--cluster", "tok", "--port", $"{silo}", "--gateway-port", $"{gateway}",
            "--metrics-port", "0", "--web-port", "0", "--ephemeral"]);
        var up = await coordinator.WaitForLineAsync(@"^coordinator up: cluster tok, .*, cluster token file (\S+) \(new\)$");
        string file = up.Groups[1].Value;
        Assert.Equal(Path.Combine(OrchProcess.StateDir, "clusters", "tok", "token"), file);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        string token = File.ReadAllText(file).Trim();
        Assert.Equal(64, token.Length);
        Assert.DoesNotContain(token, coordinator.Output);

        string wrongFile = Path.Combine(Directory.CreateTempSubdirectory("orch-token-").FullName, "wrong");
        File.WriteAllText(wrongFile, new string('x', 40) + "\n");
        var byVariable = await OrchProcess.RunAsync(new Dictionary<string, string> { ["ORCH_CLUSTER_TOKEN"] = new string('y', 32) },
            "run", "list", "--coordinator", gw, "--cluster", "tok");
        Assert.Equal((2, Fix), (byVariable.Exit, byVariable.Stderr.Trim()));
        await coordinator.WaitForLineAsync(@"refused a grain call with a wrong token: .*ListRunsAsync from sys\.client/\S+ \(\S+ pid \d+\)");
        var byFile = await OrchProcess.RunAsync("workers", "list", "--coordinator", gw, "--cluster", "tok", "--token-file", wrongFile);
        Assert.Equal((2, Fix), (byFile.Exit, byFile.Stderr.Trim()));

        await using var intruder = OrchProcess.Start(["worker", "--coordinator-silo", $"127.0.0.1:{silo}", "--cluster", "tok", "--name", "intruder", "--token-file", wrongFile]);
        Assert.Equal(2, await intruder.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        Assert.Contains(Fix, intruder.Output);
        await coordinator.WaitForLineAsync(@"refused a grain call with a wrong token: .*RegisterWorker.* \(\S+ pid \d+\)");

        // The same user's console finds the generated file by the cluster's name: no flags.
        var list = await OrchProcess.RunAsync("workers", "list", "--json", "--coordinator", gw, "--cluster", "tok");
        Assert.Equal((0, "[]"), (list.Exit, list.Stdout.Trim()));
    }
}
