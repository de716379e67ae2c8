namespace Orchestrator.DataPipeline.Inputs;

/// <summary>How an input file is read.</summary>
public enum InputFormat { Text, Jsonl, Parquet, Brown }

/// <summary>One file `data prepare` or `tokenizer train` reads, and how.</summary>
public sealed record InputFile(string Path, InputFormat Format)
{
    public long Bytes => new FileInfo(Path).Length;
}

/// <summary>What to do with bytes that are not UTF-8.</summary>
public enum InvalidUtf8Policy
{
    /// <summary>Stop with an error naming the file and byte offset (the default: silent damage is worse).</summary>
    Refuse,
    /// <summary>Replace each invalid sequence by U+FFFD and warn with the count per file.</summary>
    Replace,
}

/// <summary>Options shared by every reader.</summary>
/// <param name="TextColumn">Parquet column / JSONL field holding the text.</param>
/// <param name="InvalidUtf8">Refuse or replace invalid UTF-8.</param>
/// <param name="Warn">Receives warnings (one line each), e.g. replaced bytes.</param>
public sealed record ReadOptions(string TextColumn = "text", InvalidUtf8Policy InvalidUtf8 = InvalidUtf8Policy.Refuse, Action<string>? Warn = null);
