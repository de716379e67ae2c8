using System.Net;
using System.Text.Json;
using k8s.Autorest;

namespace Orchestrator.Coordinator.Kubernetes;

/// <summary>
/// Turns what the API server answered into one sentence a user can act on. The server's own Status message
/// (for example "statefulsets.apps \"orch-worker\" not found") is appended, since it names the exact object.
/// </summary>
static class KubernetesErrors
{
    /// <param name="action">What we tried, as a verb phrase: "patch statefulsets/scale of 'orch-worker'".</param>
    /// <param name="resource">What was missing on a 404: "statefulset 'orch-worker'".</param>
    public static WorkerPoolException Translate(Exception e, string action, string resource, WorkerPoolTarget target, string source) => e switch
    {
        HttpOperationException h => FromStatus(h, action, resource, target, source),
        HttpRequestException r => new WorkerPoolException(
            $"cannot reach the Kubernetes API server (from {source}) to {action}: {r.Message}. Check that the cluster is up and the context is right (kubectl cluster-info)",
            null, isBadInput: false, r),
        TaskCanceledException t => new WorkerPoolException(
            $"the Kubernetes API server (from {source}) did not answer in time when trying to {action}. Check kubectl cluster-info",
            null, isBadInput: false, t),
        _ => new WorkerPoolException($"could not {action}: {e.Message}", null, isBadInput: false, e),
    };

    static WorkerPoolException FromStatus(HttpOperationException h, string action, string resource, WorkerPoolTarget target, string source)
    {
        var code = h.Response.StatusCode;
        var server = ServerMessage(h.Response.Content);
        var said = server is null ? "" : $" (server: {server})";
        return code switch
        {
            HttpStatusCode.NotFound => new WorkerPoolException(
                $"{resource} not found in namespace '{target.Namespace}'{said}. Deploy the manifests (kubectl apply -k k8s/overlays/cpu or k8s/overlays/gpu) " +
                "or name the right one with --namespace and --statefulset (kubectl get statefulsets -A)",
                code, isBadInput: true, h),
            HttpStatusCode.Forbidden => new WorkerPoolException(
                $"forbidden: {source} may not {action} in namespace '{target.Namespace}'{said}. The Role orch-scaler (k8s/base/rbac.yaml) grants " +
                "statefulsets/scale get and patch to the orch-coordinator service account: bind it to your account, or run the command there " +
                "(kubectl exec -n orchestrator deploy/orch-coordinator -- orch workers ...)",
                code, isBadInput: false, h),
            HttpStatusCode.Unauthorized => new WorkerPoolException(
                $"unauthorized: the Kubernetes API server rejected the credentials of {source}{said}. Log in to the cluster again or refresh the kubeconfig",
                code, isBadInput: false, h),
            HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest => new WorkerPoolException(
                $"the Kubernetes API server refused to {action}{said}",
                code, isBadInput: true, h),
            _ => new WorkerPoolException(
                $"could not {action}: HTTP {(int)code} {code}{said}",
                code, isBadInput: false, h),
        };
    }

    /// <summary>The "message" of a v1 Status body, or the body itself when it is short plain text.</summary>
    static string? ServerMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object &&
                doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                return m.GetString();
        }
        catch (JsonException)
        {
        }
        var text = body.Trim().ReplaceLineEndings(" ");
        return text.Length <= 200 ? text : text[..200] + "...";
    }
}
