namespace Horizon.Algorithms.Detection;

/// <summary>
/// Keeps a metric's recent scores (a ring of the last N judgements) and halves a score that does
/// not exceed all of them: an anomaly is news when it starts or worsens, not on every point while
/// it lasts. For a span after a reported anomaly (the refractory period) scores are halved once
/// more, so one incident is not reported point after point while it grows. 2 bytes per remembered
/// judgement.
/// </summary>
public sealed class NoveltyFilter(int points = 200, double damping = 0.5, int refractory = 0, double threshold = 1)
{
    private readonly Half[] _ring = new Half[Math.Max(points, 1)];
    private int _next;
    private readonly int _refractory = refractory;
    private int _sinceFlag = refractory; // judgements since the last reported anomaly, up to the span

    /// <summary>The filter the settings describe (no damping when NoveltyPoints is 0).</summary>
    public static NoveltyFilter For(EnsembleSettings settings) => settings.NoveltyPoints > 0
        ? new(settings.NoveltyPoints, settings.NoveltyDamping, settings.Refractory, settings.Threshold)
        : new(1, 1);

    /// <summary>The score to report for a new judgement with raw score <paramref name="score"/>.</summary>
    public double Apply(double score)
    {
        var max = 0.0;
        foreach (var h in _ring)
        {
            max = Math.Max(max, (double)h);
        }
        _ring[_next] = (Half)score;
        _next = (_next + 1) % _ring.Length;
        var reported = score > max ? score : score * damping;
        if (_sinceFlag < _refractory)
        {
            reported *= damping;
        }
        _sinceFlag = reported >= threshold ? 0 : Math.Min(_sinceFlag + 1, _refractory);
        return reported;
    }
}
