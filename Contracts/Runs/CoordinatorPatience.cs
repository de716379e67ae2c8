using System.Runtime.CompilerServices;

namespace Orchestrator.Contracts.Runs;

/// <summary>
/// How a console client that polls (a watch, a log follow) treats a coordinator that stops answering: it asks again
/// until the coordinator has been silent for the grace period (a restart in between goes unnoticed, as the polled
/// state is stored or re-read), then says plainly that the coordinator is gone instead of printing a connection error.
/// Bad requests (<see cref="ArgumentException"/>) and cancellation are never retried.
/// </summary>
public sealed class CoordinatorPatience(TimeSpan grace, string doing, string then)
{
    DateTime lastAnswer = DateTime.UtcNow;

    /// <summary>How long one ask may take under a patience before it counts as silence.</summary>
    static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Yields what <paramref name="ask"/> returns every <paramref name="poll"/> until <paramref name="isFinal"/> holds
    /// (that answer too). With a <paramref name="patience"/>, each ask is bounded and a silent coordinator is asked
    /// again until the patience gives up; without one, any failure ends the poll.
    /// </summary>
    public static async IAsyncEnumerable<T> PollAsync<T>(Func<Task<T>> ask, Func<T, bool> isFinal, TimeSpan poll,
        CoordinatorPatience? patience, [EnumeratorCancellation] CancellationToken ct)
    {
        while (true)
        {
            T answer;
            try
            {
                answer = patience is null ? await ask().WaitAsync(ct) : await ask().WaitAsync(AskTimeout, ct);
                patience?.Answered();
            }
            catch (Exception e) when (patience is not null && MayBeSilence(e))
            {
                patience.Silent(e);
                await Task.Delay(poll, ct);
                continue;
            }
            yield return answer;
            if (isFinal(answer)) yield break;
            await Task.Delay(poll, ct);
        }
    }

    /// <summary>The coordinator answered: the silence starts over.</summary>
    public void Answered() => lastAnswer = DateTime.UtcNow;

    /// <summary>Whether a failed poll may be the coordinator's silence (worth asking again): not a bad request, not a
    /// cancellation. For the catch's filter: <see cref="Silent"/> goes in its body, since a filter swallows what it throws.</summary>
    public static bool MayBeSilence(Exception e) => e is not (OperationCanceledException or ArgumentException);

    /// <summary>After a failed poll: returns to ask again, or throws <see cref="CoordinatorGoneException"/> once the
    /// coordinator has been silent for the grace period.</summary>
    public void Silent(Exception e)
    {
        var silent = DateTime.UtcNow - lastAnswer;
        if (silent >= grace)
            throw new CoordinatorGoneException(
                $"the coordinator stopped answering while {doing} (no answer for {silent.TotalSeconds:F0} s): it was stopped or lost; {then}", e);
    }
}
