using System.Net;
using System.Threading.Channels;

namespace Horizon.Integration.Tests;

/// <summary>An HTTP endpoint that records each POST body and answers with the next status of a script (then 200).</summary>
internal sealed class HttpReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Queue<HttpStatusCode> _script;
    private readonly Task _loop;

    public HttpReceiver(params HttpStatusCode[] script)
    {
        _script = new Queue<HttpStatusCode>(script);
        Port = RedisServer.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/hook/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/hook/";

    public Channel<string> Bodies { get; } = Channel.CreateUnbounded<string>();

    /// <summary>When set, every request is answered 302 with this Location.</summary>
    public string? RedirectTo { get; init; }

    /// <summary>Whether each request carried a Content-Length (rather than a chunked body).</summary>
    public bool AllSized = true;

    public int Requests;

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            using (var reader = new StreamReader(context.Request.InputStream))
            {
                var body = await reader.ReadToEndAsync();
                Interlocked.Increment(ref Requests);
                AllSized &= context.Request.ContentLength64 == System.Text.Encoding.UTF8.GetByteCount(body);
                if (RedirectTo is not null)
                {
                    context.Response.Redirect(RedirectTo);
                    context.Response.Close();
                    continue;
                }
                HttpStatusCode status;
                lock (_script)
                {
                    status = _script.Count > 0 ? _script.Dequeue() : HttpStatusCode.OK;
                }
                if (status == HttpStatusCode.OK)
                {
                    Bodies.Writer.TryWrite(body);
                }
                context.Response.StatusCode = (int)status;
            }
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
