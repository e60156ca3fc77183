using System.Text;

namespace Horizon.Analyzer;

/// <summary>How a webhook receiver reads the <c>text</c> of an alert.</summary>
public enum AlertFormat
{
    /// <summary>Slack's incoming webhooks: <c>&lt;...&gt;</c> is markup (<c>&lt;!channel&gt;</c>
    /// notifies a channel, <c>&lt;url|text&gt;</c> is a link with chosen text), so &amp;, &lt; and
    /// &gt; are sent as entities, as Slack asks.</summary>
    Slack,

    /// <summary>Mattermost's incoming webhooks: Markdown (links with chosen text, emphasis), @-mentions
    /// (<c>@channel</c>, <c>@all</c>, <c>@here</c>) and Slack's <c>&lt;!channel&gt;</c> too: Markdown's
    /// punctuation is escaped and every @ is kept from starting a mention.</summary>
    Mattermost,
}

/// <summary>Makes alert text, which carries metric names and metadata anyone sending metrics or
/// holding the write token chooses, inert for the receiver that shows it.</summary>
public static class AlertText
{
    /// <summary><paramref name="text"/> as <paramref name="format"/> shows it literally.</summary>
    public static string Escape(string text, AlertFormat format)
    {
        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            switch (format, c)
            {
                case (AlertFormat.Slack, '&'): escaped.Append("&amp;"); break;
                case (AlertFormat.Slack, '<'): escaped.Append("&lt;"); break;
                case (AlertFormat.Slack, '>'): escaped.Append("&gt;"); break;
                case (AlertFormat.Mattermost, '@'): escaped.Append("@\u200B"); break; // a zero-width space: no mention
                case (AlertFormat.Mattermost, '\\' or '`' or '*' or '_' or '[' or ']' or '(' or ')' or '<' or '>' or '#' or '~' or '|' or '!' or '&' or ':'):
                    escaped.Append('\\').Append(c);
                    break;
                default: escaped.Append(c); break;
            }
        }
        return escaped.ToString();
    }
}
