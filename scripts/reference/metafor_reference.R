# Reference numbers from R's metafor for strigil.evidence (see docs/decisions/0005).
#
# Usage: Rscript scripts/reference/metafor_reference.R [output.json]
# Default output: tests/evidence/data/metafor_reference.json (pinned; the test suite reads it
# without R). Every input is stored next to the outputs so the Python side needs nothing else.
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/evidence/data/metafor_reference.json"

methods <- c("EE", "DL", "REML", "PM", "ML", "HE", "SJ")
tests <- c("z", "knha")
tight <- list(threshold = 1e-10, tol = 1e-12, maxiter = 1000)

num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)

# ---- data sets -----------------------------------------------------------------------------
datasets <- list()
add_set <- function(name, yi, vi, note) {
  datasets[[name]] <<- list(name = name, note = note, yi = as.numeric(yi), vi = as.numeric(vi))
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_set("bcg_logrr", bcg$yi, bcg$vi, "dat.bcg, log risk ratio via escalc")
nor <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.normand1999)
add_set("normand_smd", nor$yi, nor$vi, "dat.normand1999, SMD via escalc")
nmd <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.normand1999)
add_set("normand_md", nmd$yi, nmd$vi, "dat.normand1999, raw mean difference via escalc")
hine <- escalc(measure = "RD", n1i = n1i, n2i = n2i, ai = ai, ci = ci, data = dat.hine1989)
add_set("hine_rd", hine$yi, hine$vi, "dat.hine1989, risk difference via escalc")

set.seed(20240501)
for (k in c(5, 10, 20, 40)) {
  vi <- runif(k, 0.005, 0.3)
  yi <- rnorm(k, 0.4, sqrt(vi + 0.08))
  add_set(paste0("random_k", k), yi, vi, paste("set.seed(20240501), k =", k))
}
set.seed(7)
vi <- runif(2, 0.02, 0.1)
add_set("edge_k2", rnorm(2, 0.2, sqrt(vi + 0.1)), vi, "k = 2")
add_set("edge_tau2_zero", c(0.30, 0.31, 0.29, 0.30, 0.305),
        c(0.04, 0.05, 0.03, 0.06, 0.045), "homogeneous: tau2 on the zero boundary")
set.seed(11)
vi <- runif(8, 0.01, 0.05)
add_set("edge_huge_heterogeneity", rnorm(8, 0, 6), vi, "tau2 around 36, tiny vi")
set.seed(13)
vi <- 10^seq(-6, 0, length.out = 7)
add_set("edge_unequal_variances", rnorm(7, 0.5, sqrt(vi + 0.05)), vi,
        "vi from 1e-6 to 1 (ratio 1e6)")

# ---- fits ----------------------------------------------------------------------------------
summarise_fit <- function(fit) {
  pr <- predict(fit)
  list(estimate = num(fit$beta), se = num(fit$se), zval = num(fit$zval), pval = num(fit$pval),
       ci_lb = num(fit$ci.lb), ci_ub = num(fit$ci.ub), tau2 = num(fit$tau2),
       se_tau2 = num(fit$se.tau2), I2 = num(fit$I2), H2 = num(fit$H2), QE = num(fit$QE),
       QEp = num(fit$QEp), pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub),
       weights = as.numeric(weights(fit)))
}
seq_table <- function(tab) {
  # leave1out()/cumul() name the statistic tval/pvals under test = "knha"
  tab <- unclass(tab)
  pick <- function(...) {
    for (nm in c(...)) if (!is.null(tab[[nm]])) return(as.numeric(tab[[nm]]))
    NULL
  }
  list(estimate = pick("estimate"), se = pick("se"), zval = pick("zval", "tval"),
       pval = pick("pval", "pvals"), ci_lb = pick("ci.lb"), ci_ub = pick("ci.ub"),
       Q = pick("Q"), Qp = pick("Qp"), tau2 = pick("tau2"), I2 = pick("I2"), H2 = pick("H2"))
}

fit_all <- function(ds) {
  cases <- list()
  for (m in methods) for (t in tests) {
    fit <- suppressWarnings(rma(ds$yi, ds$vi, method = m, test = t))
    case <- list(method = m, test = t, fit = summarise_fit(fit))
    if (m %in% c("REML", "ML", "PM")) {
      ft <- suppressWarnings(rma(ds$yi, ds$vi, method = m, test = t, control = tight))
      case$tight <- summarise_fit(ft)
    }
    case$leave1out <- seq_table(suppressWarnings(leave1out(fit)))
    case$cumul <- seq_table(suppressWarnings(cumul(fit)))
    if (length(ds$yi) >= 3) {
      rt <- suppressWarnings(regtest(fit))
      case$regtest <- list(zval = num(rt$zval), pval = num(rt$pval), est = num(rt$est),
                           ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub),
                           slope = num(coef(rt$fit)[2]))
    }
    cases[[length(cases) + 1]] <- case
  }
  ds$cases <- cases
  ds
}
fits <- lapply(datasets, fit_all)
names(fits) <- NULL

# ---- subgroups (separate fits + FE test of differences) ------------------------------------
subgroup_ref <- list()
for (m in c("EE", "DL", "REML")) {
  sub <- lapply(split(seq_len(nrow(bcg)), dat.bcg$alloc), function(ix)
    rma(bcg$yi[ix], bcg$vi[ix], method = m))
  est <- sapply(sub, function(f) as.numeric(f$beta))
  se <- sapply(sub, function(f) f$se)
  comb <- rma(est, sei = se, mods = ~ factor(names(sub)), method = "FE")
  subgroup_ref[[m]] <- list(method = m, groups = names(sub), estimates = as.numeric(est),
                            se = as.numeric(se), QM = comb$QM, QMdf = comb$QMdf[1],
                            QMp = comb$QMp)
}
names(subgroup_ref) <- NULL

# ---- escalc --------------------------------------------------------------------------------
tab <- data.frame(ai = c(12, 0, 5, 3, 0), bi = c(38, 20, 45, 0, 30),
                  ci = c(20, 4, 0, 7, 0), di = c(30, 16, 50, 3, 30))
esc_bin <- lapply(c("RR", "OR", "RD"), function(me) {
  e <- escalc(measure = me, ai = ai, bi = bi, ci = ci, di = di, data = tab)
  list(measure = me, yi = as.numeric(e$yi), vi = as.numeric(e$vi))
})
esc_bcg <- lapply(c("RR", "OR", "RD"), function(me) {
  e <- escalc(measure = me, ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
  list(measure = me, yi = as.numeric(e$yi), vi = as.numeric(e$vi))
})
esc_cont <- lapply(c("SMD", "MD"), function(me) {
  e <- escalc(measure = me, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.normand1999)
  list(measure = me, yi = as.numeric(e$yi), vi = as.numeric(e$vi))
})
nd <- dat.normand1999
escalc_ref <- list(
  binary_zero_cells = list(data = as.list(tab), results = esc_bin),
  bcg = list(data = list(ai = dat.bcg$tpos, bi = dat.bcg$tneg, ci = dat.bcg$cpos,
                         di = dat.bcg$cneg), results = esc_bcg),
  normand = list(data = list(m1i = nd$m1i, sd1i = nd$sd1i, n1i = nd$n1i, m2i = nd$m2i,
                             sd2i = nd$sd2i, n2i = nd$n2i), results = esc_cont)
)

ref <- list(
  generator = "scripts/reference/metafor_reference.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  tight_control = tight,
  datasets = fits,
  subgroups = list(data = "bcg_logrr", groups = as.character(dat.bcg$alloc),
                   fits = subgroup_ref),
  escalc = escalc_ref
)
dir.create(dirname(out), showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = I(17), na = "null", null = "null",
                  pretty = FALSE), out)
cat("wrote", out, "\n")
