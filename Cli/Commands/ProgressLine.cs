using Orchestrator.Worker.Training;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// Training progress on stderr (stdout stays clean for --json): a redrawn bar with loss, tokens/s, ms/step, MFU and
/// ETA on a terminal; one line per log step when stderr is redirected.
/// </summary>
/// <param name="worldSize">Ranks training together: tokens/s is the whole world's, and says so when there are several.</param>
sealed class ProgressLine(int worldSize = 1)
{
    readonly bool _tty = !Console.IsErrorRedirected;
    readonly string _tokensPerSecond = worldSize > 1 ? "tok/s global" : "tok/s";
    bool _drawn;

    public void Report(StepReport r)
    {
        double frac = r.Steps == 0 ? 1 : (double)r.Step / r.Steps;
        int filled = (int)(frac * 24);
        var eta = TimeSpan.FromMilliseconds(r.MsPerStep * (r.Steps - r.Step));
        var line = $"step {r.Step}/{r.Steps} [{new string('=', filled)}{new string(' ', 24 - filled)}] loss {r.Loss:F4}" +
                   (r.ValLoss is double v ? $" val {v:F4} (ppl {Math.Exp(v):F2})" : "") +
                   $" | {r.TokensPerSecond:N0} {_tokensPerSecond} | {r.MsPerStep:F1} ms/step" + (r.Mfu is double m ? $" | MFU {m:P1}" : "") +
                   $" | lr {r.LearningRate:E2} | ETA {eta:hh\\:mm\\:ss}";
        if (_tty)
        {
            Console.Error.Write("\r" + line.PadRight(Math.Max(0, Console.BufferWidth - 1)));
            _drawn = true;
            if (r.ValLoss is not null) { Console.Error.WriteLine(); _drawn = false; }
        }
        else Console.Error.WriteLine(line);
    }

    public void Finish()
    {
        if (_drawn) Console.Error.WriteLine();
    }
}
