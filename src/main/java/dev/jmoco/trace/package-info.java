/**
 * Where the time of a step goes: {@link dev.jmoco.trace.Trace} records named, nested slices of wall time on the
 * training thread (ops forward and backward, the phases of a MoCo step, modules) with the work each slice did,
 * counted by hand; {@link dev.jmoco.trace.MachinePeaks} measures what the machine can do, for the roofline;
 * {@link dev.jmoco.trace.ChromeTrace} writes slices in the Trace Event format that ui.perfetto.dev opens. The
 * lowest package but {@code backend}: autograd, moco and train open slices, nothing here imports them.
 */
package dev.jmoco.trace;
