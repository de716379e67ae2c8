using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>
/// Embedded-mode grain state, kept in the coordinator process itself. Orleans' memory storage keeps state in
/// storage grains spread over every silo, so killing a worker would lose run state; control-plane grains only
/// live on the coordinator, so their state belongs there too. Stored as Orleans binary (versioned by [Id]s) so a
/// read is a deep copy.
/// </summary>
public sealed class LocalGrainStorage(Serializer serializer) : IGrainStorage
{
    readonly ConcurrentDictionary<(string Type, GrainId Id), (byte[] Data, string ETag)> store = new();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (store.TryGetValue((stateName, grainId), out var e))
        {
            grainState.State = serializer.Deserialize<T>(e.Data);
            grainState.ETag = e.ETag;
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var etag = Guid.NewGuid().ToString("N");
        store[(stateName, grainId)] = (serializer.SerializeToArray(grainState.State), etag);
        grainState.ETag = etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        store.TryRemove((stateName, grainId), out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }
}
