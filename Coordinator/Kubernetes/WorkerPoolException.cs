using System.Net;

namespace Orchestrator.Coordinator.Kubernetes;

/// <summary>
/// A Kubernetes API call about the worker pool failed, with a message that says what to do.
/// <see cref="IsBadInput"/> is true when the user named something that is not there (wrong namespace or
/// StatefulSet) or gave no usable configuration: the CLI exits 2 for those, 1 for the rest.
/// </summary>
public sealed class WorkerPoolException(string message, HttpStatusCode? statusCode, bool isBadInput, Exception? inner = null)
    : Exception(message, inner)
{
    public HttpStatusCode? StatusCode { get; } = statusCode;
    public bool IsBadInput { get; } = isBadInput;
}
