package dev.jmoco.dist;

/** A distributed run cannot start: its library is missing or does not load, said in one line. */
public final class CollectiveUnavailable extends IllegalStateException {
    public CollectiveUnavailable(String message) { super(message); }
}
