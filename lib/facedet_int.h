/*
 * lib/facedet_int.h: what the files of lib/facedet share.
 */
#ifndef FM_FACEDET_INT_H
#define FM_FACEDET_INT_H

#include "cnn.h"
#include "facedet.h"

/* Boxes best first, ties by position (fm_facedet_nms's order). */
void facedet_sort(struct fm_facedet_box *boxes, size_t n);

#endif
