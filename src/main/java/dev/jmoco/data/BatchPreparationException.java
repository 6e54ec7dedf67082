package dev.jmoco.data;

/** A background worker of a {@link Loader} failed while preparing a batch; the cause is the worker's error. */
public final class BatchPreparationException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    BatchPreparationException(String message, Throwable cause) {
        super(message, cause);
    }
}
