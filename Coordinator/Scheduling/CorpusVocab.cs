using System.Text.Json;

namespace Orchestrator.Coordinator.Scheduling;

/// <summary>
/// The vocabulary size a prepared corpus declares, read where the coordinator can see the folder (the
/// <c>vocab_size</c> of the manifest.json that `orch data prepare` writes, or of a nanoGPT meta.json). The memory
/// estimate needs it for the embedding and logits; null when the folder is not reachable from here.
/// </summary>
public static class CorpusVocab
{
    public static int? TryRead(string dataDir)
    {
        if (string.IsNullOrWhiteSpace(dataDir)) return null;
        foreach (var name in (string[])["manifest.json", "meta.json"])
        {
            try
            {
                var path = Path.Combine(dataDir, name);
                if (!File.Exists(path)) continue;
                using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
                if (doc.RootElement.TryGetProperty("vocab_size", out var v) && v.TryGetInt32(out var n) && n > 0) return n;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { }
        }
        return null;
    }
}
