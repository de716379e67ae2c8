using System.Text;

namespace Orchestrator.DataPipeline.Inputs;

/// <summary>
/// Reads one file of the POS-tagged Brown corpus ("The/at jury/nn said/vbd ...") as readable text: tags are
/// stripped (the tag follows the last '/'), `` and '' become ", punctuation attaches to the word before it,
/// sentences of a paragraph (lines of one blank-line-separated group) are joined with spaces, and paragraphs
/// are separated by a blank line. One file is one document.
/// </summary>
public static class BrownCorpus
{
    static readonly HashSet<string> NoSpaceBefore = [".", ",", ";", ":", "?", "!", ")", "]", "}", "'", "''", "'s", "n't", "%", "..."];
    static readonly HashSet<string> NoSpaceAfter = ["(", "[", "{", "``", "$"];

    public static string ToText(string tagged)
    {
        var paragraphs = new List<string>();
        var sentences = new List<string>();
        foreach (var raw in tagged.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                Flush();
                continue;
            }
            var s = Sentence(line);
            if (s.Length > 0) sentences.Add(s);
        }
        Flush();
        return string.Join("\n\n", paragraphs);

        void Flush()
        {
            if (sentences.Count > 0) paragraphs.Add(string.Join(' ', sentences));
            sentences.Clear();
        }
    }

    static string Sentence(string line)
    {
        var sb = new StringBuilder(line.Length);
        bool glue = true; // no space before the first word
        foreach (var token in line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            int slash = token.LastIndexOf('/');
            var word = slash > 0 ? token[..slash] : token;
            if (!glue && !NoSpaceBefore.Contains(word)) sb.Append(' ');
            sb.Append(word switch { "``" or "''" => "\"", _ => word });
            glue = NoSpaceAfter.Contains(word);
        }
        return sb.ToString();
    }
}
