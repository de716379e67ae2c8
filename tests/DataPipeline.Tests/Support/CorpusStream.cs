using Orchestrator.DataPipeline.Corpus;

namespace Orchestrator.Tests.DataPipeline.Support;

/// <summary>Rebuilds a corpus' whole token stream from its shards (train and val interleaved by the split rule).</summary>
public static class CorpusStream
{
    public static List<int> Read(string dir)
    {
        var m = CorpusManifest.Read(dir);
        var train = Corpora.BlocksInOrder(dir, "train", m.BlockSize);
        var val = m.Val.Blocks > 0 ? Corpora.BlocksInOrder(dir, "val", m.BlockSize) : [];
        var split = new CorpusWriterOptions(m.BlockSize, m.ValFraction);
        var stream = new List<int>();
        int t = 0, v = 0;
        for (long k = 0; k < m.Train.Blocks + m.Val.Blocks; k++)
        {
            var block = split.IsVal(k) ? val[v++] : train[t++];
            stream.AddRange(block[..^1].Select(x => (int)x));
            if (k == m.Train.Blocks + m.Val.Blocks - 1) stream.Add((int)block[^1]);
        }
        Assert.Equal(train.Count, t);
        Assert.Equal(val.Count, v);
        // Drop the end-of-text padding of the last block.
        Assert.Equal(m.Tokens + m.PaddingTokens, stream.Count);
        stream.RemoveRange((int)m.Tokens, (int)m.PaddingTokens);
        return stream;
    }

    /// <summary>Splits a stream at end-of-text into documents' token lists.</summary>
    public static List<int[]> Documents(List<int> stream, int endOfText)
    {
        var docs = new List<int[]>();
        var cur = new List<int>();
        foreach (var id in stream)
        {
            if (id == endOfText) { docs.Add([.. cur]); cur.Clear(); }
            else cur.Add(id);
        }
        Assert.Empty(cur); // every document ends with end-of-text
        return docs;
    }
}
