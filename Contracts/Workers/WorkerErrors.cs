namespace Orchestrator.Contracts.Workers;

/// <summary>A worker of another protocol version asked to join; the message names both versions.</summary>
[GenerateSerializer, Alias("orch.IncompatibleWorkerException")]
public sealed class IncompatibleWorkerException(string message) : InvalidOperationException(message);
