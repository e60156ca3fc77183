using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Horizon.Integration.Tests;

/// <summary>A headless Chromium driven over the DevTools protocol (a WebSocket): open a page, run
/// JavaScript in it, wait for what it shows. For browser tests that click (Playwright cannot fetch
/// its browsers here; this drives Debian's chromium).</summary>
internal sealed class DevTools : IAsyncDisposable
{
    private readonly Process _browser;
    private readonly DirectoryInfo _profile;
    private readonly ClientWebSocket _socket = new();
    private int _id;

    private DevTools(Process browser, DirectoryInfo profile) => (_browser, _profile) = (browser, profile);

    /// <summary>Starts the browser on <paramref name="url"/> and connects to its page.</summary>
    public static async Task<DevTools> OpenAsync(string url, int width = 1280, int height = 900)
    {
        var profile = Directory.CreateTempSubdirectory("horizon-devtools-");
        var start = new ProcessStartInfo(Browser.Find()) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     $"--user-data-dir={profile.FullName}", "--remote-debugging-port=0", $"--window-size={width},{height}", url })
        {
            start.ArgumentList.Add(arg);
        }
        var browser = Process.Start(start)!;
        var tools = new DevTools(browser, profile);
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/<id>": the port, then the page's socket.
        string? line;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((line = await browser.StandardError.ReadLineAsync(timeout.Token)) is not null && !line.Contains("DevTools listening on ", StringComparison.Ordinal))
        {
        }
        if (line is null)
        {
            throw new InvalidOperationException("the browser exited before it listened for DevTools");
        }
        _ = browser.StandardError.ReadToEndAsync(CancellationToken.None);
        var browserSocket = new Uri(line[line.IndexOf("ws://", StringComparison.Ordinal)..].Trim());
        using var http = new HttpClient();
        string? page = null;
        await TestSupport.WaitUntilAsync(async () =>
        {
            var targets = JsonNode.Parse(await http.GetStringAsync($"http://{browserSocket.Authority}/json/list", timeout.Token))!.AsArray();
            page = targets.FirstOrDefault(t => (string?)t!["type"] == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
            return page is not null;
        }, "the browser's page", 30);
        await tools._socket.ConnectAsync(new Uri(page!), timeout.Token);
        return tools;
    }

    /// <summary>Evaluates a JavaScript expression in the page (promises awaited) and returns its value as JSON.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await CallAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["awaitPromise"] = true, ["returnByValue"] = true });
        if (result?["exceptionDetails"] is { } error)
        {
            throw new InvalidOperationException($"{expression}: {error.ToJsonString()}");
        }
        return result?["result"]?["value"];
    }

    /// <summary>Calls a DevTools protocol method on the page (<c>Input.dispatchMouseEvent</c>,
    /// <c>Page.captureScreenshot</c>, ...) and returns its result.</summary>
    public async Task<JsonNode?> CallAsync(string method, JsonObject? parameters = null)
    {
        var id = ++_id;
        var request = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? [] };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var message = await ReceiveAsync(timeout.Token);
            if ((int?)message["id"] != id)
            {
                continue; // an event
            }
            if (message["error"] is { } failed)
            {
                throw new InvalidOperationException($"{method}: {failed.ToJsonString()}");
            }
            return message["result"];
        }
    }

    /// <summary>A mouse event as the user's input (pressed, moved, released) at page coordinates.</summary>
    public Task MouseAsync(string type, double x, double y) =>
        CallAsync("Input.dispatchMouseEvent", new JsonObject { ["type"] = type, ["x"] = x, ["y"] = y, ["button"] = "left", ["buttons"] = type == "mouseReleased" ? 0 : 1, ["clickCount"] = 1 });

    /// <summary>Saves what the page shows now as a PNG.</summary>
    public async Task ScreenshotAsync(string path)
    {
        var shot = await CallAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String((string)shot!["data"]!));
    }

    /// <summary>Waits until <paramref name="condition"/> (a JavaScript expression) is true in the page.</summary>
    public Task WaitForAsync(string condition, string what, int seconds = 30) =>
        TestSupport.WaitUntilAsync(async () => (await EvaluateAsync($"!!({condition})"))?.GetValue<bool>() == true, what, seconds);

    private async Task<JsonNode> ReceiveAsync(CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await _socket.ReceiveAsync(buffer, ct);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return JsonNode.Parse(message.ToArray())!;
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        try
        {
            _browser.Kill(entireProcessTree: true);
            await _browser.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }
        _browser.Dispose();
        _profile.Delete(recursive: true);
    }
}
