"""Checks that the f64 Adam rule `dtp-core/tests/adam.rs` tests against (`reference`) is
torch.optim.Adam's: the same 30 steps of mixed-scale gradients on 8 float64 parameters, with
torch's defaults and with Meulemans et al.'s DDTP-linear feedback constants (weight decay
included). Prints the largest difference (1e-16 or 0 when run). Run:
/path/to/python-with-torch tests/parity/adam_reference_torch.py
"""
import torch, math, random
random.seed(0)
for (lr,b1,b2,eps,wd) in [(1e-3,0.9,0.999,1e-8,0.0),(3e-3,0.999,0.9,7.7e-5,4.4e-4)]:
    p0=[random.gauss(0,1) for _ in range(8)]
    grads=[[random.gauss(0,1)*[1e-4,1e-2,1,30][i%4] for i in range(8)] for _ in range(30)]
    p=torch.tensor(p0,dtype=torch.float64,requires_grad=True)
    opt=torch.optim.Adam([p],lr=lr,betas=(b1,b2),eps=eps,weight_decay=wd)
    # `reference` of dtp-core/tests/adam.rs, line for line
    q=list(p0); m=[0.0]*8; u=[0.0]*8; worst=0
    for k,g in enumerate(grads):
        opt.zero_grad(); p.grad=torch.tensor(g,dtype=torch.float64); opt.step()
        t=k+1
        for i in range(8):
            gi=g[i]+wd*q[i]
            m[i]=b1*m[i]+(1-b1)*gi; u[i]=b2*u[i]+(1-b2)*gi*gi
            q[i]-=lr*(m[i]/(1-b1**t))/(math.sqrt(u[i]/(1-b2**t))+eps)
        worst=max(worst,max(abs(a-b) for a,b in zip(p.tolist(),q)))
    assert worst < 1e-12, worst
    print(lr,b1,b2,eps,wd,"max |torch - reference| over 30 steps:",worst)
