namespace PinGlass.Photos.Identity;

/// <summary>Arithmetic on face descriptors (unit-length 1024-d from faceres, 128-d from face-api), compared by Euclidean distance.</summary>
public static class Descriptors
{
    public static double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Descriptors of different lengths ({a.Length} and {b.Length}) cannot be compared.");
        }

        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = a[i] - b[i];
            sum += d * d;
        }

        return Math.Sqrt(sum);
    }

    /// <summary>The element-wise mean.</summary>
    public static float[] Centroid(IReadOnlyList<float[]> descriptors)
    {
        if (descriptors.Count == 0)
        {
            throw new ArgumentException("A centroid needs at least one descriptor.", nameof(descriptors));
        }

        var centroid = new float[descriptors[0].Length];
        foreach (var descriptor in descriptors)
        {
            for (var i = 0; i < centroid.Length; i++)
            {
                centroid[i] += descriptor[i] / descriptors.Count;
            }
        }

        return centroid;
    }

    /// <summary>
    /// Index of the descriptor with the least total distance to the others. Unlike the mean, one photo of another person
    /// cannot pull it away from the set's owner.
    /// </summary>
    public static int Medoid(IReadOnlyList<float[]> descriptors)
    {
        var best = -1;
        var bestSum = double.MaxValue;
        for (var i = 0; i < descriptors.Count; i++)
        {
            double sum = 0;
            for (var j = 0; j < descriptors.Count; j++)
            {
                sum += Distance(descriptors[i], descriptors[j]);
            }

            if (sum < bestSum)
            {
                (best, bestSum) = (i, sum);
            }
        }

        return best;
    }
}
