# By-hand check (needs numpy and PyTorch; not part of CI): a literal transcription of the host
# composition in src/device/cuda/recurrent.rs (every Gemm call with its strides and beta, the step kernels'
# formulas, buffers preset to NaN so that an unwritten element shows) for rnn_tanh, lstm and gru with
# 2 layers and each bias pattern, compared with torch.nn.RNN/LSTM/GRU autograd in f64.
# Run: /tmp/torchvenv/bin/python kernels/emulate/recurrent_host.py  (prints max errors ~1e-16).
import numpy as np, torch
torch.set_default_dtype(torch.float64)
def gemm(A,ao,B,bo,C,co,m,n,k,sa,sb,sc,beta):
    for i in range(m):
        for j in range(n):
            acc=0.0
            for kk in range(k): acc+=A[ao+i*sa[1]+kk*sa[2]]*B[bo+kk*sb[1]+j*sb[2]]
            C[co+i*sc[1]+j*sc[2]] = acc + (beta*C[co+i*sc[1]+j*sc[2]] if beta else 0)
sig=lambda v:1/(1+np.exp(-v))
def run(kind,N,T,I,H,L,x,h0,c0,W,gy,ghn,gcn):
    G={'rnn':1,'lstm':4,'gru':3}[kind]; gh=G*H; nt=N*T; nh=N*H
    ones=np.ones(nt); tapes=[]
    for k in range(L):
        wih,whh,bih,bhh=W[k]; ik=I if k==0 else H
        X=x if k==0 else tapes[-1]['y']
        P=np.full(nt*gh,np.nan)
        folded=[b for b in ([bih]+([bhh] if kind!='gru' else [])) if b is not None]
        for q,b in enumerate(folded): gemm(ones,0,b,0,P,0,nt,gh,1,[0,1,0],[0,0,1],[0,gh,1],0 if q==0 else 1)
        gemm(X,0,wih,0,P,0,nt,gh,ik,[0,ik,1],[0,1,ik],[0,gh,1],1 if folded else 0)
        y=np.full(nt*H,np.nan); ex=np.full(nt*H,np.nan); Q=np.full(N*gh,np.nan)
        h0k=h0[k*nh:(k+1)*nh]; c0k=c0[k*nh:(k+1)*nh] if c0 is not None else None
        for s in range(T):
            hp,ho,sa=(h0k,0,[0,H,1]) if s==0 else (y,(s-1)*H,[0,T*H,1])
            if kind=='gru':
                if bhh is not None: gemm(ones,0,bhh,0,Q,0,N,gh,1,[0,1,0],[0,0,1],[0,gh,1],0)
                gemm(hp,ho,whh,0,Q,0,N,gh,H,sa,[0,1,H],[0,gh,1],1 if bhh is not None else 0)
            else: gemm(hp,ho,whh,0,P,s*gh,N,gh,H,sa,[0,1,H],[0,T*gh,1],1)
            for b in range(N):
                for j in range(H):
                    at=lambda c,w:(b*T+s)*w+c
                    if kind=='rnn': y[at(j,H)]=np.tanh(P[at(j,gh)])
                    elif kind=='lstm':
                        a=at(0,gh); i_,f_,g_,o_=sig(P[a+j]),sig(P[a+H+j]),np.tanh(P[a+2*H+j]),sig(P[a+3*H+j])
                        cp=c0k[b*H+j] if s==0 else ex[at(j,H)-H]
                        c=f_*cp+i_*g_; ex[at(j,H)]=c; y[at(j,H)]=o_*np.tanh(c)
                        P[a+j],P[a+H+j],P[a+2*H+j],P[a+3*H+j]=i_,f_,g_,o_
                    else:
                        a=at(0,gh); qb=b*gh
                        r=sig(P[a+j]+Q[qb+j]); z=sig(P[a+H+j]+Q[qb+H+j]); n_=np.tanh(P[a+2*H+j]+r*Q[qb+2*H+j])
                        hpv=h0k[b*H+j] if s==0 else y[at(j,H)-H]
                        y[at(j,H)]=(1-z)*n_+z*hpv; ex[at(j,H)]=Q[qb+2*H+j]
                        P[a+j],P[a+H+j],P[a+2*H+j]=r,z,n_
        tapes.append(dict(x=X,y=y,acts=P,ex=ex,h0=h0k,c0=c0k))
    hn=np.concatenate([t['y'].reshape(N,T,H)[:,-1].ravel() for t in tapes])
    cn=np.concatenate([t['ex'].reshape(N,T,H)[:,-1].ravel() for t in tapes]) if kind=='lstm' else None
    out=tapes[-1]['y']
    # backward
    dh0=np.zeros(L*nh); dc0=np.zeros(L*nh); dy=gy.copy(); grads=[None]*L; dx=None
    for k in reversed(range(L)):
        t_=tapes[k]; wih,whh,bih,bhh=W[k]; ik=I if k==0 else H
        dh=ghn[k*nh:(k+1)*nh].copy(); dc=gcn[k*nh:(k+1)*nh].copy() if kind=='lstm' else None
        da=np.full(nt*gh,np.nan); dq=np.full(nt*gh,np.nan); dwhh=np.full(gh*H,np.nan)
        y=t_['y']; P=t_['acts']; ex=t_['ex']
        for s in reversed(range(T)):
            for b in range(N):
                for j in range(H):
                    e=b*H+j; at=lambda c,w:(b*T+s)*w+c
                    if kind=='rnn':
                        g=dh[e]+dy[at(j,H)]; da[at(j,gh)]=g*(1-y[at(j,H)]**2); dh[e]=0
                    elif kind=='lstm':
                        a=at(0,gh); i_,f_,g_,o_=P[a+j],P[a+H+j],P[a+2*H+j],P[a+3*H+j]
                        cp=t_['c0'][e] if s==0 else ex[at(j,H)-H]; tc=np.tanh(ex[at(j,H)])
                        dhs=dh[e]+dy[at(j,H)]; dcs=dc[e]+dhs*o_*(1-tc*tc)
                        da[a+j]=dcs*g_*i_*(1-i_); da[a+H+j]=dcs*cp*f_*(1-f_); da[a+2*H+j]=dcs*i_*(1-g_*g_); da[a+3*H+j]=dhs*tc*o_*(1-o_)
                        dc[e]=dcs*f_; dh[e]=0
                    else:
                        a=at(0,gh); r,z,n_=P[a+j],P[a+H+j],P[a+2*H+j]
                        hpv=t_['h0'][e] if s==0 else y[at(j,H)-H]; dhs=dh[e]+dy[at(j,H)]
                        dan=dhs*(1-z)*(1-n_*n_); daz=dhs*(hpv-n_)*z*(1-z); dar=dan*ex[at(j,H)]*r*(1-r)
                        da[a+j],da[a+H+j],da[a+2*H+j]=dar,daz,dan; dq[a+j],dq[a+H+j],dq[a+2*H+j]=dar,daz,dan*r; dh[e]=dhs*z
            dah=dq if kind=='gru' else da
            hp,ho,sb=(t_['h0'],0,[0,H,1]) if s==0 else (y,(s-1)*H,[0,T*H,1])
            gemm(dah,s*gh,hp,ho,dwhh,0,gh,H,N,[0,1,T*gh],sb,[0,H,1],0 if s==T-1 else 1)
            gemm(dah,s*gh,whh,0,dh,0,N,H,gh,[0,T*gh,1],[0,H,1],[0,H,1],1)
        dh0[k*nh:(k+1)*nh]=dh
        if kind=='lstm': dc0[k*nh:(k+1)*nh]=dc
        dwih=np.full(gh*ik,np.nan); gemm(da,0,t_['x'],0,dwih,0,gh,ik,nt,[0,1,gh],[0,ik,1],[0,ik,1],0)
        dX=np.full(nt*ik,np.nan); gemm(da,0,wih,0,dX,0,nt,ik,gh,[0,gh,1],[0,ik,1],[0,ik,1],0)
        dbih=da.reshape(nt,gh).sum(0) if bih is not None else None
        dbhh=(dq if kind=='gru' else da).reshape(nt,gh).sum(0) if bhh is not None else None
        grads[k]=(dwih,dwhh,dbih,dbhh)
        if k>0: dy=dX
        else: dx=dX
    return out,hn,cn,dx,dh0,dc0,grads

rng=np.random.default_rng(0)
for kind in ['rnn','lstm','gru']:
  for bias in [(True,True),(True,False),(False,True)]:
    N,T,I,H,L=2,3,3,2,2; G={'rnn':1,'lstm':4,'gru':3}[kind]
    x=rng.standard_normal(N*T*I); h0=rng.standard_normal(L*N*H); c0=rng.standard_normal(L*N*H)
    W=[(rng.standard_normal(G*H*(I if k==0 else H))*.5,rng.standard_normal(G*H*H)*.5,rng.standard_normal(G*H) if bias[0] else None,rng.standard_normal(G*H) if bias[1] else None) for k in range(L)]
    gy=rng.standard_normal(N*T*H); ghn=rng.standard_normal(L*N*H); gcn=rng.standard_normal(L*N*H)
    out,hn,cn,dx,dh0,dc0,grads=run(kind,N,T,I,H,L,x,h0,c0.copy() if kind=='lstm' else None,W,gy,ghn,gcn)
    M={'rnn':torch.nn.RNN,'lstm':torch.nn.LSTM,'gru':torch.nn.GRU}[kind](I,H,L,batch_first=True,bias=True)
    with torch.no_grad():
        for k in range(L):
            getattr(M,f'weight_ih_l{k}').copy_(torch.tensor(W[k][0]).view(G*H,-1)); getattr(M,f'weight_hh_l{k}').copy_(torch.tensor(W[k][1]).view(G*H,H))
            getattr(M,f'bias_ih_l{k}').copy_(torch.tensor(W[k][2]) if bias[0] else torch.zeros(G*H)); getattr(M,f'bias_hh_l{k}').copy_(torch.tensor(W[k][3]) if bias[1] else torch.zeros(G*H))
    xt=torch.tensor(x).view(N,T,I).requires_grad_(); h0t=torch.tensor(h0).view(L,N,H).requires_grad_(); c0t=torch.tensor(c0).view(L,N,H).requires_grad_()
    if kind=='lstm': o,(hnt,cnt)=M(xt,(h0t,c0t))
    else: o,hnt=M(xt,h0t)
    loss=(o*torch.tensor(gy).view(N,T,H)).sum()+(hnt*torch.tensor(ghn).view(L,N,H)).sum()+((cnt*torch.tensor(gcn).view(L,N,H)).sum() if kind=='lstm' else 0)
    loss.backward()
    errs=[abs(out-o.detach().numpy().ravel()).max(),abs(hn-hnt.detach().numpy().ravel()).max(),abs(dx-xt.grad.numpy().ravel()).max(),abs(dh0-h0t.grad.numpy().ravel()).max()]
    if kind=='lstm': errs+= [abs(cn-cnt.detach().numpy().ravel()).max(),abs(dc0-c0t.grad.numpy().ravel()).max()]
    for k in range(L):
        g=grads[k]
        errs+=[abs(g[0]-getattr(M,f'weight_ih_l{k}').grad.numpy().ravel()).max(),abs(g[1]-getattr(M,f'weight_hh_l{k}').grad.numpy().ravel()).max()]
        if bias[0]: errs.append(abs(g[2]-getattr(M,f'bias_ih_l{k}').grad.numpy()).max())
        if bias[1]: errs.append(abs(g[3]-getattr(M,f'bias_hh_l{k}').grad.numpy()).max())
    print(kind,bias,'max err',max(errs), 'nan' if any(np.isnan(e) for e in errs) else '')
