using System.CommandLine;
using System.Runtime.InteropServices;

namespace Orchestrator.Cli.Hosting;

/// <summary>
/// SIGINT and SIGTERM for commands that must not lose work (`orch train`): the first signal only asks the work to
/// stop at its next step boundary and save; what a second one does is the command's choice (one process: end at
/// once). Risk: a
/// rank started by `--nproc` gets the terminal's Ctrl-C and its launcher's forwarded SIGTERM, so in a rank every
/// signal only asks. These commands are invoked without System.CommandLine's own termination handling (which
/// cancels the token and exits after 2 s, while a checkpoint can take longer): see <see cref="Handles"/>.
/// </summary>
public sealed class GracefulStop : IDisposable
{
    static readonly HashSet<string> Commands = [];
    readonly PosixSignalRegistration _int, _term;
    readonly CancellationTokenSource _requested = new();
    readonly Action<string>? _onFirst;
    readonly Action? _onRepeat;
    int _signals;

    /// <summary>Marks <paramref name="command"/> as one that handles its own stop (call when building it).</summary>
    public static void Mark(Command command)
    {
        lock (Commands) Commands.Add(command.Name);
    }

    public static bool Handles(Command command)
    {
        lock (Commands) return Commands.Contains(command.Name) && command.Parents.OfType<RootCommand>().Any();
    }

    /// <param name="onFirst">Told the signal's name when the first one arrives.</param>
    /// <param name="onRepeat">Called for every later signal (null: they are ignored).</param>
    public GracefulStop(Action<string>? onFirst = null, Action? onRepeat = null)
    {
        _onFirst = onFirst;
        _onRepeat = onRepeat;
        _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public bool Requested => _requested.IsCancellationRequested;
    /// <summary>Cancelled when the first signal arrives.</summary>
    public CancellationToken Token => _requested.Token;
    public string? Signal { get; private set; }

    void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref _signals) == 1)
        {
            Signal = context.Signal.ToString();
            _onFirst?.Invoke(Signal);
            _requested.Cancel();
        }
        else _onRepeat?.Invoke();
    }

    public void Dispose()
    {
        _int.Dispose();
        _term.Dispose();
        _requested.Dispose();
    }
}
