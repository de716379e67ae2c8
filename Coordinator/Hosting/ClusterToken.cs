using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>
/// The secret every process of one cluster shares: workers and consoles carry it on each grain call
/// (<see cref="ClusterTokenFilters"/>), and every silo refuses calls without it.
/// Invariant: the text is never printed or logged (<see cref="ToString"/> hides it); files holding it are created
/// mode 0600 and written whole; comparison takes the same time whatever the given text is (SHA-256 of both sides,
/// compared with <see cref="CryptographicOperations.FixedTimeEquals"/>).
/// </summary>
public sealed class ClusterToken
{
    /// <summary>The environment variable that carries a token (the alternative to --token-file).</summary>
    public const string Variable = "ORCH_CLUSTER_TOKEN";
    /// <summary>Shortest and longest token accepted: a guessable token is no token, and a token is one line.</summary>
    public const int MinLength = 16, MaxLength = 4096;

    readonly byte[] digest;

    ClusterToken(string value)
    {
        Value = value;
        digest = SHA256.HashData(Encoding.UTF8.GetBytes(value));
    }

    /// <summary>The text, for the outgoing call filter only.</summary>
    internal string Value { get; }

    /// <summary>A token given as text; <paramref name="source"/> names where it came from in the error.</summary>
    public static ClusterToken Parse(string text, string source)
    {
        var t = text.Trim();
        if (t.Length is < MinLength or > MaxLength || t.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new ArgumentException($"{source}: a cluster token is {MinLength}..{MaxLength} characters without spaces (e.g. `openssl rand -hex 32`)");
        return new ClusterToken(t);
    }

    /// <summary>32 random bytes, hex.</summary>
    public static ClusterToken Generate() => new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));

    /// <summary>Whether <paramref name="given"/> is this token, in time independent of its text.</summary>
    public bool Matches(string? given) =>
        given is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), digest);

    /// <summary>Reads a token file (one line); <paramref name="flag"/> names it in errors (exit 2).</summary>
    public static ClusterToken ReadFile(string path, string flag)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{flag}: '{path}' does not exist", path);
        if (new FileInfo(path).Length > MaxLength + 2) throw new ArgumentException($"{flag}: '{path}' is over {MaxLength} bytes (a token is one line)");
        var text = File.ReadAllText(path);
        if (text.Trim().Length == 0) throw new ArgumentException($"{flag}: '{path}' is empty");
        return Parse(text, $"{flag} '{path}'");
    }

    /// <summary>
    /// The token in <paramref name="path"/>, or a new one written there (mode 0600, its folder 0700 when created)
    /// when there is none. Two processes racing get the same token: the file appears whole (a temporary file
    /// linked into place), and the loser reads the winner's.
    /// </summary>
    public static (ClusterToken Token, bool Created) ReadOrCreate(string path)
    {
        if (File.Exists(path)) return (ReadFile(path, "the cluster token file"), false);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
        else
        {
            if (!Directory.Exists(folder)) Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        var token = Generate();
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        using (var f = new FileStream(temp, options))
        {
            f.Write(Encoding.UTF8.GetBytes(token.Value + "\n"));
            f.Flush(flushToDisk: true);
        }
        try
        {
            File.Move(temp, path, overwrite: false);
            return (token, true);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temp);
            return (ReadFile(path, "the cluster token file"), false);
        }
    }

    public override string ToString() => "(cluster token)";
}
