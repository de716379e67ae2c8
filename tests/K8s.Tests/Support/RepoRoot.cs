namespace Orchestrator.Tests.K8s.Support;

/// <summary>The repository root: the first folder above the test's base directory that holds Orchestrator.sln.</summary>
static class RepoRoot
{
    static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Orchestrator.sln above {AppContext.BaseDirectory}");
    });

    public static string Combine(params string[] parts) => Path.Combine([Root.Value, .. parts]);
}
