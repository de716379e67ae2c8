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
