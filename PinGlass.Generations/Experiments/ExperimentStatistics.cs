namespace PinGlass.Generations.Experiments;

/// <summary>A figure with its 95 % confidence interval, the number of observations behind it and (a mean's) its standard error.</summary>
public sealed record Estimate(double? Value, double? Low, double? High, long N, double? StandardError = null);

/// <summary>An arm's figure less the control's, with the difference's 95 % interval; significant when the interval excludes 0.</summary>
public sealed record Difference(double? Value, double? Low, double? High, bool Significant);

/// <summary>
/// The intervals experiment outcomes are given with, at 95 %: Wilson's score interval for a rate; Newcombe's hybrid score interval (his
/// method 10, from the two Wilson intervals) for the difference of two rates; Student's t interval of a mean, and Welch's (with the
/// Welch–Satterthwaite degrees of freedom) for the difference of two means. They take the observations (portraits, predictions) as
/// independent. Pure functions, so the outcomes' decisions have fast tests of their own.
/// </summary>
public static class ExperimentStatistics
{
    public const double Z = 1.96;
    public const double Confidence = 0.95;

    public static Estimate Rate(long successes, long n)
    {
        if (n == 0)
        {
            return new(null, null, null, 0);
        }

        var p = (double)successes / n;
        var centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n);
        var half = Z * Math.Sqrt(p * (1 - p) / n + Z * Z / (4.0 * n * n)) / (1 + Z * Z / n);
        return new(p, Math.Max(0, centre - half), Math.Min(1, centre + half), n);
    }

    public static Estimate Mean(double? mean, double? standardDeviation, long n)
    {
        if (n == 0 || mean is not { } m)
        {
            return new(null, null, null, n);
        }

        if (n == 1 || standardDeviation is not { } sd)
        {
            return new(m, null, null, n);
        }

        var se = sd / Math.Sqrt(n);
        var t = StudentT(n - 1);
        return new(m, m - t * se, m + t * se, n, se);
    }

    /// <summary>
    /// Student's t at 97.5 % for <paramref name="degrees"/> of freedom: the table to 30, Cornish–Fisher's expansion past it (within
    /// 0.001 there).
    /// </summary>
    public static double StudentT(double degrees)
    {
        if (degrees < 1)
        {
            return double.PositiveInfinity;
        }

        if (degrees <= 30)
        {
            // Interpolated between whole degrees (Welch's are fractional); conservative below 1.
            var whole = (int)Math.Floor(degrees);
            var fraction = degrees - whole;
            return whole == 30 ? T975[29] : T975[whole - 1] + fraction * (T975[whole] - T975[whole - 1]);
        }

        var z = Z;
        return z + (z * z * z + z) / (4 * degrees) + (5 * Math.Pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * degrees * degrees)
            + (3 * Math.Pow(z, 7) + 19 * Math.Pow(z, 5) + 17 * z * z * z - 15 * z) / (384 * Math.Pow(degrees, 3));
    }

    private static readonly double[] T975 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093,
        2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    public static Difference RateDifference(Estimate arm, Estimate control)
    {
        if (arm is not { Value: { } p1, Low: { } l1, High: { } u1 } || control is not { Value: { } p2, Low: { } l2, High: { } u2 })
        {
            return new(null, null, null, false);
        }

        var d = p1 - p2;
        var low = d - Math.Sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2));
        var high = d + Math.Sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2));
        return new(d, low, high, low > 0 || high < 0);
    }

    public static Difference MeanDifference(Estimate arm, Estimate control)
    {
        if (arm is not { Value: { } m1, StandardError: { } se1, N: var n1 } || control is not { Value: { } m2, StandardError: { } se2, N: var n2 })
        {
            return new(null, null, null, false);
        }

        var v1 = se1 * se1;
        var v2 = se2 * se2;
        var se = Math.Sqrt(v1 + v2);
        var d = m1 - m2;
        if (se == 0)
        {
            return new(d, d, d, d != 0);
        }

        var degrees = (v1 + v2) * (v1 + v2) / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1));
        if (!double.IsFinite(degrees) || degrees < 1)
        {
            // Variances too small to divide: the smaller side's degrees of freedom, the conservative choice.
            degrees = Math.Max(1, Math.Min(n1, n2) - 1);
        }

        var t = StudentT(degrees);
        return new(d, d - t * se, d + t * se, Math.Abs(d) > t * se);
    }
}
