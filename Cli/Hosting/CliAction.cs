using System.CommandLine;

namespace Orchestrator.Cli.Hosting;

/// <summary>
/// Wraps every command body with docs/CLI.md's exit-code contract: 0 success, 2 bad input (one line on stderr naming
/// the problem), 1 anything else. Bad input is what a user can fix: <see cref="ArgumentException"/>,
/// <see cref="InvalidDataException"/>, <see cref="FileNotFoundException"/>, <see cref="DirectoryNotFoundException"/>
/// <see cref="BadInputException"/>, a cluster that is not the one asked for, and a cluster token it refused. ORCH_DEBUG=1 adds the stack trace.
/// </summary>
public static class CliAction
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int BadInput = 2;

    public static void Set(Command command, Func<ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction((pr, ct) => RunGuarded(() => body(pr, ct)));

    public static void Set(Command command, Func<ParseResult, int> body) =>
        command.SetAction((pr, ct) => RunGuarded(() => Task.FromResult(body(pr))));

    public static async Task<int> RunGuarded(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled");
            return 130;
        }
        catch (Exception e) when (IsBadInput(e))
        {
            WriteError(e);
            return BadInput;
        }
        catch (Exception e)
        {
            WriteError(e);
            return Failure;
        }
    }

    public static bool IsBadInput(Exception e) => e is ArgumentException or InvalidDataException
        or FileNotFoundException or DirectoryNotFoundException or BadInputException or Coordinator.Hosting.ClusterMismatchException
        or Contracts.Cluster.ClusterTokenRefusedException
        || (e is AggregateException a && a.InnerExceptions.Count == 1 && IsBadInput(a.InnerExceptions[0]));

    static void WriteError(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
        Console.Error.WriteLine("error: " + Describe(e.Message));
        if (Environment.GetEnvironmentVariable("ORCH_DEBUG") == "1") Console.Error.WriteLine(e);
    }

    /// <summary>
    /// One line for an error message: libtorch's C++ backtrace ("Exception raised from ... frame #0 ...") is cut
    /// (ORCH_DEBUG=1 prints everything), and running out of GPU memory says what to change.
    /// </summary>
    public static string Describe(string message)
    {
        var text = message.ReplaceLineEndings(" ");
        var trace = text.IndexOf(" Exception raised from ", StringComparison.Ordinal);
        if (trace < 0) trace = text.IndexOf("Exception raised from ", StringComparison.Ordinal);
        if (trace >= 0) text = text[..trace].TrimEnd();
        if (text.Contains("CUDA out of memory", StringComparison.Ordinal))
        {
            var hint = text.IndexOf(" If reserved but unallocated", StringComparison.Ordinal);
            if (hint >= 0) text = text[..hint];
            text += " The model and batch do not fit this GPU: shard the model states over more GPUs (--zero 3 with --nproc N; " +
                    "DDP needs 16 bytes a parameter on every GPU, ZeRO-3 16/N), lower --batch, or set " +
                    "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True if the memory is fragmented.";
        }
        return text;
    }
}

/// <summary>A problem with what the user gave us (flag, spec, file) that they can fix; exit code 2.</summary>
public sealed class BadInputException(string message) : Exception(message);
