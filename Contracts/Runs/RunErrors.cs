namespace Orchestrator.Contracts.Runs;

/// <summary>The RunSpec is malformed or invalid; the message names the field and the fix. Nothing was started.</summary>
[GenerateSerializer, Alias("orch.InvalidRunSpecException")]
public sealed class InvalidRunSpecException(string message) : ArgumentException(message);

/// <summary>No run with this id was ever submitted.</summary>
[GenerateSerializer, Alias("orch.UnknownRunException")]
public sealed class UnknownRunException(string message) : ArgumentException(message);

/// <summary>A watcher lost the coordinator for longer than it waits for one to come back; the message says so plainly.</summary>
public sealed class CoordinatorGoneException(string message, Exception? inner = null) : Exception(message, inner);
