package dev.jmoco.backend.cuda;

import dev.jmoco.backend.gpu.DeviceBuffer;
import dev.jmoco.backend.gpu.KernelLaunch;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.util.List;

/**
 * One kernel launch on the backend's stream: arguments collected in {@link KernelArgs}, then cuLaunchKernel
 * with one pointer per argument value (the driver copies the values at launch, so nothing outlives the call).
 */
final class CudaLaunch implements KernelLaunch {
    private final CudaBackend backend;
    private final CUfunction function;
    private final CUstream stream;
    private final String name;
    private final KernelArgs<CUdeviceptr> args = new KernelArgs<>();

    CudaLaunch(CudaBackend backend, CUfunction function, CUstream stream, String name) {
        this.backend = backend;
        this.function = function;
        this.stream = stream;
        this.name = name;
    }

    @Override
    public CudaLaunch arg(DeviceBuffer b) {
        CudaBuffer c = backend.own(name, b);
        args.buffer(c.root(), c.offset());
        return this;
    }

    @Override public CudaLaunch arg(int v) { args.add(v); return this; }

    @Override public CudaLaunch arg(float v) { args.add(v); return this; }

    @Override
    public void run(long global0, int local0) {
        if (global0 == 0) return;
        launch(LaunchGeometry.of(global0, local0));
    }

    @Override
    public void run(long global0, long global1, int local0, int local1) {
        if (global0 == 0 || global1 == 0) return;
        launch(LaunchGeometry.of(global0, global1, local0, local1));
    }

    private void launch(LaunchGeometry g) {
        List<KernelArgs.Arg<CUdeviceptr>> list = args.list();
        Pointer[] values = new Pointer[list.size()];
        for (int i = 0; i < values.length; i++)
            values[i] = switch (list.get(i)) {
                case KernelArgs.Ptr<CUdeviceptr>(CUdeviceptr p) -> Pointer.to(p);
                case KernelArgs.Int<CUdeviceptr>(int v) -> Pointer.to(new int[] {v});
                case KernelArgs.Flt<CUdeviceptr>(float v) -> Pointer.to(new float[] {v});
            };
        try {
            // Shared memory is static in every kernel (__local arrays of fixed size): 0 dynamic bytes.
            backend.timed(name, () -> JCudaDriver.cuLaunchKernel(function, g.gridX(), g.gridY(), 1, g.blockX(),
                    g.blockY(), 1, 0, stream, Pointer.to(values), null));
        } catch (CudaException e) {
            throw CudaError.of("cuLaunchKernel(" + name + ", grid " + g.gridX() + "x" + g.gridY() + ", block "
                    + g.blockX() + "x" + g.blockY() + ")", e);
        }
    }
}
