using System.Text.Json.Nodes;
using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Reports;
using Orchestrator.Experiments.Sweeps;
using Orchestrator.Tests.Experiments.EndToEnd;
using Orchestrator.Tests.Experiments.Reports;

namespace Orchestrator.Tests.Experiments.Sweeps;

/// <summary>
/// A sweep folder whose JSON has the wrong shape (valid JSON, wrong or missing fields) is one clear error naming the
/// file and the field, never a NullReferenceException; `orch sweep report --folder` exits 2 on it.
/// </summary>
public sealed class StoredJsonTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("orch-stored-json-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A valid sweep folder whose status.json is then changed by <paramref name="edit"/>.</summary>
    string Folder(string id, Action<JsonObject> edit)
    {
        string folder = SweepFolders.Completed(Path.Combine(_dir, "sweeps"), id);
        string path = Path.Combine(folder, "status.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
        return folder;
    }

    static JsonObject Run(JsonObject status, int i) => status["runs"]!.AsArray()[i]!.AsObject();

    public static TheoryData<string, string> BadStatuses => new()
    {
        { "no-runs", "'runs' is missing or empty (expected the status.json the coordinator writes in STORAGE/SWEEP-ID/)" },
        { "null-runs", ":1 at runs: this value has the wrong type (or is null where a value is needed)" },
        { "no-plan", "runs[2] has no 'plan' (expected the status.json the coordinator writes in STORAGE/SWEEP-ID/)" },
        { "no-key", "'runs[0].plan.key' is missing or empty" },
        { "no-model", "'runs[1].plan.model' is missing or empty" },
        { "zero-n", "'runs[0].plan.non_embedding_params' is 0; it must be > 0" },
        { "no-id", "'id' is missing or empty" },
        { "no-spec", "'spec' is missing or empty" },
        { "wrong-type", ":1 at runs[0].plan.tokens: this value has the wrong type (or is null where a value is needed)" },
        { "bad-state", ":1 at runs[0].state: this value has the wrong type" },
        { "array", ":1: expected a JSON object (a SweepStatus)" },
        { "not-json", ":1: not valid JSON: " },
        { "null", " holds null, not a sweep status" },
        { "duplicate", "' appears 2 times" },
    };

    string BadFolder(string kind) => kind switch
    {
        "no-runs" => Folder(kind, s => s.Remove("runs")),
        "null-runs" => Folder(kind, s => s["runs"] = null),
        "no-plan" => Folder(kind, s => Run(s, 2).Remove("plan")),
        "no-key" => Folder(kind, s => Run(s, 0)["plan"]!.AsObject().Remove("key")),
        "no-model" => Folder(kind, s => Run(s, 1)["plan"]!["model"] = null),
        "zero-n" => Folder(kind, s => Run(s, 0)["plan"]!["non_embedding_params"] = 0),
        "no-id" => Folder(kind, s => s["id"] = ""),
        "no-spec" => Folder(kind, s => s.Remove("spec")),
        "wrong-type" => Folder(kind, s => Run(s, 0)["plan"]!["tokens"] = "many"),
        "bad-state" => Folder(kind, s => Run(s, 0)["state"] = "Exploded"),
        "array" => Raw(kind, "[1, 2]"),
        "null" => Raw(kind, "null"),
        "not-json" => Raw(kind, "status: done"),
        "duplicate" => Folder(kind, s => Run(s, 1)["plan"]!["key"] = Run(s, 0)["plan"]!["key"]!.GetValue<string>()),
        _ => throw new ArgumentException(kind),
    };

    string Raw(string id, string text)
    {
        string folder = Directory.CreateDirectory(Path.Combine(_dir, "raw", id)).FullName;
        File.WriteAllText(Path.Combine(folder, "status.json"), text);
        return folder;
    }

    [Theory]
    [MemberData(nameof(BadStatuses))]
    public void A_status_json_of_the_wrong_shape_is_named(string kind, string message)
    {
        string folder = BadFolder(kind);
        var e = Assert.Throws<InvalidDataException>(() => SweepFolder.ReadStatus(folder));
        Assert.StartsWith(Path.Combine(folder, "status.json"), e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void The_sweep_status_json_summary_is_recognised()
    {
        // What `orch sweep status --json` prints: runs with a key and numbers but no plan.
        string folder = Raw("summary", """
            { "id": "s-1", "name": "s", "state": "Completed", "folder": "/tmp/s-1", "done": 1, "failed": 0,
              "runs": [ { "key": "L1-d32-h1-D1e4-s1", "n": 12288, "d": 10240, "state": "Completed", "val_loss": 3.1 } ] }
            """);
        var e = Assert.Throws<InvalidDataException>(() => SweepFolder.ReadStatus(folder));
        Assert.Equal($"{Path.Combine(folder, "status.json")}: runs[0] has no 'plan' (expected the status.json the coordinator writes in STORAGE/SWEEP-ID/; "
            + "this looks like the output of `orch sweep status --json`, which has no plans)", e.Message);
    }

    [Fact]
    public void Optional_lists_left_out_read_as_empty()
    {
        string folder = Folder("lists", s =>
        {
            Run(s, 0).Remove("failures");
            s["spec"]!.AsObject().Remove("report_budgets");
            s["spec"]!.AsObject().Remove("options");
        });
        var status = SweepFolder.ReadStatus(folder);
        Assert.Empty(status.Runs[0].Failures);
        Assert.Empty(status.Spec!.ReportBudgets);
        var results = SweepFolder.LoadResults(status);
        Assert.Equal(6, results.Runs.Count);
    }

    [Fact]
    public void A_metrics_file_from_before_generations_were_named_still_reads()
    {
        string folder = SweepFolders.Completed(Path.Combine(_dir, "sweeps"), "legacy-epoch");
        var status = SweepFolder.ReadStatus(folder);
        string metrics = SweepFolder.MetricsFile(folder, status.Runs[3].Plan.Key);
        var run = JsonNode.Parse(File.ReadAllText(metrics))!.AsObject();
        run["events"] = JsonNode.Parse("""[{"kind": "Epoch", "at": "2026-12-01T00:00:00+00:00", "step": 0, "epoch": 1, "world_size": 1, "detail": "1 workers gathered"}]""");
        File.WriteAllText(metrics, run.ToJsonString());
        Assert.Equal(RunEventKind.Generation, Assert.Single(StoredJson.ReadRunMetrics(File.ReadAllText(metrics), metrics).Events).Kind);
        Assert.Equal(6, SweepFolder.LoadResults(status).Runs.Count); // and the report reads the folder

        run["events"]![0]!["kind"] = "Eon";
        File.WriteAllText(metrics, run.ToJsonString());
        Assert.Contains("unknown run event kind 'Eon'", Assert.Throws<InvalidDataException>(() => SweepFolder.LoadResults(status)).Message);
    }

    [Theory]
    [InlineData("null", "holds null, not a run status")]
    [InlineData("{\"history\": null}", ":1 at history: this value has the wrong type (or is null where a value is needed)")]
    [InlineData("{\"history\": [null]}", "history[0] is null")]
    [InlineData("{\"history\": [{\"step\": \"x\"}]}", ":1 at history[0].step: this value has the wrong type")]
    public void A_metrics_file_of_the_wrong_shape_is_named(string json, string message)
    {
        string folder = SweepFolders.Completed(Path.Combine(_dir, "sweeps"), "metrics-" + Math.Abs(json.GetHashCode()));
        var status = SweepFolder.ReadStatus(folder);
        string metrics = SweepFolder.MetricsFile(folder, status.Runs[3].Plan.Key);
        File.WriteAllText(metrics, json);
        var e = Assert.Throws<InvalidDataException>(() => SweepFolder.LoadResults(status));
        Assert.StartsWith(metrics, e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void The_grains_stored_state_is_checked_too()
    {
        var state = new ExperimentState { StatusJson = "{\"id\": \"s-1\", \"runs\": [{}]}" };
        var e = Assert.Throws<InvalidDataException>(() => state.Read("s-1"));
        Assert.StartsWith("stored state of sweep 's-1': runs[0] has no 'plan'", e.Message);
    }

    [Theory]
    [InlineData("no-plan")]
    [InlineData("wrong-type")]
    [InlineData("array")]
    public async Task Sweep_report_on_a_malformed_folder_exits_2_with_one_line(string kind)
    {
        string folder = BadFolder(kind);
        string report = Path.Combine(_dir, "report-" + kind);
        var (code, stdout, stderr) = await OrchProcess.RunAsync(TimeSpan.FromMinutes(1), "sweep", "report", "--folder", folder, "--out", report);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"error: {Path.Combine(folder, "status.json")}", stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.False(Directory.Exists(report));
    }

    [Fact]
    public async Task Sweep_report_into_a_folder_that_holds_files_exits_2_before_any_work()
    {
        string folder = SweepFolders.Completed(Path.Combine(_dir, "sweeps"), "taken");
        string report = Directory.CreateDirectory(Path.Combine(_dir, "taken-report")).FullName;
        File.WriteAllText(Path.Combine(report, "report.md"), "mine");
        var (code, _, stderr) = await OrchProcess.RunAsync(TimeSpan.FromMinutes(1), "sweep", "report", "--folder", folder, "--out", report);
        Assert.Equal(2, code);
        Assert.Equal($"error: --out '{report}' is not empty: give a new folder (reports are never overwritten)", stderr.TrimEnd());
        Assert.Equal("mine", File.ReadAllText(Path.Combine(report, "report.md")));
    }
}
