/**
 * The op set and its plumbing: {@link dev.jmoco.backend.Backend} (every operation the engine needs, with its
 * exact semantics; {@link dev.jmoco.backend.reference.ReferenceOps} spells each out as a double loop),
 * {@link dev.jmoco.backend.CheckedBackend} (every op's argument checks and unwrapping, in one place), {@link dev.jmoco.backend.Buffer} (device or host storage, with views for the parameter
 * arena), the shape records, and {@link dev.jmoco.backend.Backends}, which finds implementations through
 * {@link java.util.ServiceLoader} and picks one by name or rank.
 *
 * <p>A new backend extends {@link dev.jmoco.backend.CheckedBackend} (implementing only op bodies) and
 * {@link dev.jmoco.backend.BackendProvider}, registers the provider in
 * {@code META-INF/services/dev.jmoco.backend.BackendProvider}, and must pass the conformance suite.
 */
package dev.jmoco.backend;
