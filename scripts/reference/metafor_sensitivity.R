# Reference numbers from R's metafor for strigil's sensitivity analyses (docs/decisions/0014):
# influence(), trimfill() (L0, R0, Q0; side chosen or forced; ilim), permutest(), gosh(), and
# rma()'s warnings and I² edge cases.
#
# Usage: Rscript scripts/reference/metafor_sensitivity.R [output.json]
# Default output: tests/evidence/data/metafor_sensitivity.json (pinned; the test suite reads it
# without R). Every input is stored next to the outputs so the Python side needs nothing else.
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
options(crayon.enabled = FALSE)

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/evidence/data/metafor_sensitivity.json"

num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)
warnings_of <- function(expr) {
  caught <- character()
  withCallingHandlers(expr, warning = function(w) {
    caught <<- c(caught, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  caught
}

# ---- data sets -----------------------------------------------------------------------------
datasets <- list()
add_set <- function(name, yi, vi) {
  datasets[[name]] <<- list(name = name, yi = as.numeric(yi), vi = as.numeric(vi))
}
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_set("bcg_logrr", bcg$yi, bcg$vi)
hack <- dat.hackshaw1998
add_set("hackshaw_logor", hack$yi, hack$vi)
set.seed(20261203)
for (k in c(6, 10, 15, 25)) {
  vi <- runif(k, 0.005, 0.3)
  yi <- rnorm(k, 0.3, sqrt(vi + 0.05))
  add_set(paste0("random_k", k), yi, vi)
}
set.seed(99)
vi <- runif(14, 0.01, 0.4)
# small studies with large effects only: an asymmetric funnel for trim-and-fill
yi <- 0.2 + 1.2 * sqrt(vi) * abs(rnorm(14)) + rnorm(14, 0, 0.05)
add_set("asymmetric_k14", yi, vi)
add_set("asymmetric_k14_flipped", -yi, vi)

# ---- rma() edge cases and warnings ---------------------------------------------------------
equal <- rma(rep(0.3, 4), c(0.1, 0.2, 0.3, 0.4), method = "EE")
warn_cases <- list(
  list(yi = c(0.1, 0.4, 0.3, 0.2), vi = c(0.1, 0.2, 0.3, 0.4), method = "FE", test = "knha"),
  list(yi = c(0.1, 0.4, 0.3, 0.2), vi = c(0.1, 0.2, 0.3, 0.4), method = "EE", test = "knha"),
  list(yi = c(0.1, 0.4, 0.3, 0.2), vi = c(1e-9, 0.2, 0.3, 0.4), method = "REML", test = "z"),
  list(yi = c(0.1, 0.4, 0.3, 0.2), vi = c(1e-9, 0.2, 0.3, 0.4), method = "EE", test = "knha"),
  list(yi = c(0.1, 0.4, 0.3, 0.2), vi = c(0.1, 0.2, 0.3, 0.4), method = "REML", test = "knha")
)
for (i in seq_along(warn_cases)) {
  w <- warn_cases[[i]]
  warn_cases[[i]]$warnings <- I(warnings_of(rma(w$yi, w$vi, method = w$method, test = w$test)))
}
rma_edges <- list(equal_yi = list(yi = rep(0.3, 4), vi = c(0.1, 0.2, 0.3, 0.4),
                                  I2 = num(equal$I2), H2 = num(equal$H2), QE = num(equal$QE)),
                  warnings = warn_cases)

# ---- influence() ---------------------------------------------------------------------------
influence_ref <- list()
for (ds in datasets[c("bcg_logrr", "random_k6", "random_k10", "random_k15")]) {
  for (m in c("EE", "DL", "REML", "PM")) for (t in c("z", "knha")) {
    fit <- suppressWarnings(rma(ds$yi, ds$vi, method = m, test = t))
    inf <- suppressWarnings(influence(fit))
    cols <- lapply(c(rstudent = "rstudent", dffits = "dffits", cook.d = "cook.d",
                     cov.r = "cov.r", tau2.del = "tau2.del", QE.del = "QE.del", hat = "hat",
                     weight = "weight"), function(n) as.numeric(inf$inf[[n]]))
    influence_ref[[length(influence_ref) + 1]] <- c(
      list(data = ds$name, method = m, test = t, is_infl = as.logical(inf$is.infl),
           dfbetas = as.numeric(inf$dfbs[[1]])), cols)
  }
}

# ---- trimfill() ----------------------------------------------------------------------------
# side_arg / ilim are null when not passed (metafor then picks the side / imposes no limits).
trimfill_case <- function(ds, m, est, side = NULL, ilim = NULL) {
  fit <- suppressWarnings(rma(ds$yi, ds$vi, method = m))
  args <- list(fit, estimator = est)
  if (!is.null(side)) args$side <- side
  if (!is.null(ilim)) args$ilim <- ilim
  tf <- tryCatch(suppressWarnings(do.call(trimfill, args)), error = function(e) NULL)
  if (is.null(tf)) {
    # Q0 takes the square root of 2k² - 4 Sr + 1/4, negative when nearly every rank sits above
    # the centre; metafor then stops with an error, and so must the Python side.
    return(list(data = ds$name, method = m, estimator = est, side_arg = side, ilim = ilim,
                error = TRUE))
  }
  filled <- if (tf$k0 > 0) tail(as.numeric(tf$yi), tf$k0) else numeric()
  filled_v <- if (tf$k0 > 0) tail(as.numeric(tf$vi), tf$k0) else numeric()
  list(
    data = ds$name, method = m, estimator = est, side_arg = side, ilim = ilim, error = FALSE,
    k0 = tf$k0,
    se_k0 = num(tf$se.k0), side = tf$side, filled_yi = I(filled), filled_vi = I(filled_v),
    estimate = num(tf$beta), se = num(tf$se), tau2 = num(tf$tau2), ci_lb = num(tf$ci.lb),
    ci_ub = num(tf$ci.ub), pval = num(tf$pval))
}
trimfill_ref <- list()
tf_sets <- datasets[c("bcg_logrr", "hackshaw_logor", "random_k15", "asymmetric_k14",
                      "asymmetric_k14_flipped")]
for (ds in tf_sets) {
  for (m in c("EE", "DL", "REML")) for (est in c("L0", "R0", "Q0")) {
    trimfill_ref[[length(trimfill_ref) + 1]] <- trimfill_case(ds, m, est)
  }
}
# Q0 (and L0, R0) with the side forced, including the side metafor would not choose
for (ds in tf_sets) {
  for (m in c("EE", "REML")) for (est in c("L0", "R0", "Q0")) for (side in c("left", "right")) {
    trimfill_ref[[length(trimfill_ref) + 1]] <- trimfill_case(ds, m, est, side = side)
  }
}
# ilim: bounds that contain every observed value but cut off imputed ones
for (ds in datasets[c("asymmetric_k14", "asymmetric_k14_flipped", "hackshaw_logor",
                      "bcg_logrr")]) {
  lim <- c(min(ds$yi), max(ds$yi))
  for (m in c("EE", "REML")) for (est in c("L0", "R0", "Q0")) {
    trimfill_ref[[length(trimfill_ref) + 1]] <- trimfill_case(ds, m, est, ilim = lim)
  }
}

# ---- permutest() ---------------------------------------------------------------------------
permutest_ref <- list()
for (ds in datasets[c("random_k6", "random_k10")]) {
  for (m in c("EE", "DL", "REML", "PM")) for (t in c("z", "knha")) {
    fit <- suppressWarnings(rma(ds$yi, ds$vi, method = m, test = t))
    pt <- suppressWarnings(permutest(fit, exact = TRUE, progbar = FALSE))
    permutest_ref[[length(permutest_ref) + 1]] <- list(
      data = ds$name, method = m, test = t, exact = TRUE, iter = 2^length(ds$yi),
      pval = num(pt$pval), QMp = num(pt$QMp), zval = num(fit$zval))
  }
}
for (ds in datasets[c("random_k25")]) {
  for (m in c("EE", "REML")) {
    fit <- suppressWarnings(rma(ds$yi, ds$vi, method = m))
    set.seed(1)
    pt <- suppressWarnings(permutest(fit, iter = 4000, progbar = FALSE))
    permutest_ref[[length(permutest_ref) + 1]] <- list(
      data = ds$name, method = m, test = "z", exact = FALSE, iter = 4000,
      pval = num(pt$pval), QMp = num(pt$QMp), zval = num(fit$zval))
  }
}

# ---- gosh() --------------------------------------------------------------------------------
gosh_ref <- list()
for (ds in datasets[c("random_k6", "random_k10", "bcg_logrr")]) {
  for (m in c("FE", "DL")) {
    g <- gosh(rma(ds$yi, ds$vi, method = m), progbar = FALSE)
    code <- as.numeric(as.matrix(g$incl) %*% 2^(seq_len(ncol(g$incl)) - 1))
    gosh_ref[[length(gosh_ref) + 1]] <- list(
      data = ds$name, method = m, code = code, k = as.numeric(g$res$k),
      QE = as.numeric(g$res$QE), I2 = as.numeric(g$res$I2), H2 = as.numeric(g$res$H2),
      tau2 = as.numeric(g$res$tau2), estimate = as.numeric(g$res$estimate))
  }
}

names(datasets) <- NULL
ref <- list(
  generator = "scripts/reference/metafor_sensitivity.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  datasets = datasets,
  rma_edges = rma_edges,
  influence = influence_ref,
  trimfill = trimfill_ref,
  permutest = permutest_ref,
  gosh = gosh_ref
)
dir.create(dirname(out), showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = I(17), na = "null", null = "null",
                  pretty = FALSE), out)
cat("wrote", out, "\n")
