namespace PinGlass.Platform.Jobs;

/// <summary>
/// Hangfire queues, named for their purpose. Hangfire.PostgreSql serves queues in alphabetical order, so the names also set the
/// priority: finishing work already paid for comes before starting new work, and housekeeping comes last.
/// </summary>
public static class JobQueues
{
    /// <summary>Webhook and completion handling, finalisation: short jobs on work already running at Replicate.</summary>
    public const string Completions = "completions";

    /// <summary>Planning generations and submitting predictions.</summary>
    public const string Generations = "generations";

    /// <summary>Recurring housekeeping: reconciliation, provider health, cost roll-ups, retention.</summary>
    public const string Maintenance = "maintenance";

    /// <summary>Posting milestones to clients' callback URLs: waits on the clients' servers, so apart from the completions.</summary>
    public const string ClientWebhooks = "client-webhooks";
}
