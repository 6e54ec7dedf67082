package dev.jmoco.backend.opencl;

import org.jocl.CL;
import org.jocl.CLException;

/**
 * Turns an OpenCL failure into an exception that names the call and the status. JOCL, with exceptions
 * enabled, only says the status ("CL_INVALID_VALUE"); which call failed is what a user needs to report.
 */
final class ClError {
    private ClError() {}

    /** An {@link IllegalStateException} saying "{@code call}: STATUS (code)". */
    static IllegalStateException of(String call, CLException e) {
        return new IllegalStateException(call + " failed: " + CL.stringFor_errorCode(e.getStatus())
                + " (" + e.getStatus() + ")", e);
    }
}
