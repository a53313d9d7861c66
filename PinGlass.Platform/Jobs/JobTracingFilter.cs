using System.Diagnostics;
using Hangfire.Client;
using Hangfire.Server;
using PinGlass.ServiceDefaults;

namespace PinGlass.Platform.Jobs;

/// <summary>
/// Carries a trace across Hangfire: a job queued while a span is current (an API request, a webhook, another job) stores that span's
/// W3C context as job parameters, and runs in a span whose parent it is, on whichever replica takes it up. So a generation — the
/// request, its plan, batch, completion and finalize jobs and the Replicate calls they make — is one trace. A job queued outside any
/// span (a recurring job's run) starts a trace of its own.
/// </summary>
public sealed class JobTracingFilter : IClientFilter, IServerFilter
{
    private const string TraceParent = "traceparent";
    private const string TraceState = "tracestate";
    private const string ActivityItem = "pinglass.activity";

    public void OnCreating(CreatingContext context)
    {
        if (Activity.Current is not { IdFormat: ActivityIdFormat.W3C } current)
        {
            return;
        }

        context.SetJobParameter(TraceParent, current.Id);
        if (current.TraceStateString is { } state)
        {
            context.SetJobParameter(TraceState, state);
        }
    }

    public void OnCreated(CreatedContext context)
    {
    }

    public void OnPerforming(PerformingContext context)
    {
        ActivityContext.TryParse(context.GetJobParameter<string>(TraceParent, allowStale: true),
            context.GetJobParameter<string>(TraceState, allowStale: true), out var parent);
        var job = context.BackgroundJob.Job;
        var activity = PinGlassTelemetry.ActivitySource.StartActivity($"{job.Type.Name}.{job.Method.Name}", ActivityKind.Consumer, parent);
        if (activity is null)
        {
            return;
        }

        activity.SetTag("hangfire.job.id", context.BackgroundJob.Id);
        activity.SetTag("hangfire.job.queue", job.Queue);
        // The job's arguments (a generation id, a batch, a prediction id) say what it worked on.
        var parameters = job.Method.GetParameters();
        for (var i = 0; i < parameters.Length && i < job.Args.Count; i++)
        {
            if (parameters[i].ParameterType != typeof(CancellationToken))
            {
                activity.SetTag($"hangfire.job.arg.{parameters[i].Name}", job.Args[i]?.ToString());
            }
        }

        context.Items[ActivityItem] = activity;
    }

    public void OnPerformed(PerformedContext context)
    {
        if (!context.Items.TryGetValue(ActivityItem, out var item) || item is not Activity activity)
        {
            return;
        }

        if (context.Exception is { } exception && !context.ExceptionHandled)
        {
            activity.AddException(exception);
            activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        }

        activity.Dispose();
    }
}
