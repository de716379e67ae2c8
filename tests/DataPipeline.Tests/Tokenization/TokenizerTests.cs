using Orchestrator.DataPipeline.Tokenization;

namespace Orchestrator.Tests.DataPipeline.Tokenization;

public sealed class TokenizerTests
{
    [Fact]
    public void Bytes_tokenizer_is_utf8_bytes_plus_end_of_text_256()
    {
        var t = Tokenizers.FromSpec("bytes");
        Assert.Equal(257, t.VocabSize);
        Assert.Equal(256, t.EndOfText);
        Assert.Equal([0x68, 0xC3, 0xA9], t.Encode("hé"));
        Assert.Equal("hé<|endoftext|>", t.Decode([0x68, 0xC3, 0xA9, 256]));
    }

    [Fact]
    public void Tiktoken_encodings_work_offline()
    {
        var cl = Tokenizers.FromSpec("cl100k");
        Assert.Equal((100277, 100257), (cl.VocabSize, cl.EndOfText));
        Assert.Equal([15339, 1917], cl.Encode("hello world"));
        Assert.Equal("hello world", cl.Decode(cl.Encode("hello world")));
        var o = Tokenizers.FromSpec("o200k");
        Assert.Equal((200019, 199999), (o.VocabSize, o.EndOfText));
        Assert.Equal("naïve 🚀", o.Decode(o.Encode("naïve 🚀")));
    }
}

public sealed class EndOfTextInTextTests
{
    [Fact]
    public void A_literal_end_of_text_in_a_document_is_not_a_document_boundary()
    {
        var cl = Tokenizers.FromSpec("cl100k");
        var ids = cl.Encode("a <|endoftext|> b");
        Assert.DoesNotContain(cl.EndOfText, ids);
        Assert.Equal("a <|endoftext|> b", cl.Decode(ids));
        // Same ids as the pieces encoded on their own (tiktoken's encode_ordinary): "a", " <|", "endoftext", "|>", " b".
        Assert.Equal(cl.Encode("a <|").Concat(cl.Encode("endoftext|> b")), ids);
        Assert.DoesNotContain(cl.Encode("x <|fim_prefix|><|endofprompt|>y"), i => i >= 100257);
    }
}
